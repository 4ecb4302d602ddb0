package pusher

import (
	"crypto/hmac"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// MaxRequestSkew is how far auth_timestamp may be from the server's clock.
const MaxRequestSkew = 600 * time.Second

// Request-signature errors. All of them are answered with 401.
var (
	ErrAuthMissing   = errors.New("missing authentication parameters: auth_key, auth_timestamp, auth_version and auth_signature are required")
	ErrAuthKey       = errors.New("auth_key does not match this app")
	ErrAuthVersion   = errors.New("auth_version must be 1.0")
	ErrAuthTimestamp = errors.New("auth_timestamp is not within 600 seconds of the server time")
	ErrAuthBodyMD5   = errors.New("body_md5 does not match the request body")
	ErrAuthSignature = errors.New("invalid signature: expected HMAC-SHA256 of the request")
	ErrQuery         = errors.New("malformed query string")
)

// Query is a parsed query string. Keys are lower-cased, values unescaped.
// It is parsed by hand because net/url rejects unescaped ';', which is
// legal in channel names and which the SDKs send raw.
type Query map[string]string

// ParseQuery splits a raw query on '&' and each pair at its first '='.
// Percent-escapes are decoded but '+' stays '+': the SDKs sign and send
// values unescaped, so a '+' in the URL is a '+' in the signed string.
func ParseQuery(raw string) (Query, error) {
	q := Query{}
	if raw == "" {
		return q, nil
	}
	for _, pair := range strings.Split(raw, "&") {
		if pair == "" {
			continue
		}
		k, v, _ := strings.Cut(pair, "=")
		key, err := url.PathUnescape(k)
		if err != nil {
			return nil, ErrQuery
		}
		val, err := url.PathUnescape(v)
		if err != nil {
			return nil, ErrQuery
		}
		q[strings.ToLower(key)] = val
	}
	return q, nil
}

// StringToSign builds "METHOD\npath\nquery" where query is every parameter
// but auth_signature, sorted by key, joined unescaped.
func StringToSign(method, path string, q Query) string {
	keys := make([]string, 0, len(q))
	for k := range q {
		if k != "auth_signature" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString(strings.ToUpper(method))
	b.WriteByte('\n')
	b.WriteString(path)
	b.WriteByte('\n')
	for i, k := range keys {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(q[k])
	}
	return b.String()
}

// VerifyRequest checks an HTTP API request as the server SDKs sign it: the
// key, version, timestamp window, body_md5 over the raw body bytes and the
// signature, compared in constant time.
func VerifyRequest(method, path string, q Query, body []byte, key, secret string, now time.Time) error {
	if q["auth_key"] == "" || q["auth_timestamp"] == "" || q["auth_version"] == "" || q["auth_signature"] == "" {
		return ErrAuthMissing
	}
	if q["auth_key"] != key {
		return ErrAuthKey
	}
	if q["auth_version"] != "1.0" {
		return ErrAuthVersion
	}
	ts, err := strconv.ParseInt(q["auth_timestamp"], 10, 64)
	if err != nil {
		return ErrAuthTimestamp
	}
	// Whole seconds, the timestamp's own resolution: the same request is
	// accepted or refused whatever fraction of a second the clocks show.
	skew := int64(MaxRequestSkew / time.Second)
	if d := now.Unix() - ts; d > skew || d < -skew {
		return ErrAuthTimestamp
	}
	md5Param, hasMD5 := q["body_md5"]
	if len(body) > 0 || hasMD5 {
		sum := md5.Sum(body)
		if !hmac.Equal([]byte(hex.EncodeToString(sum[:])), []byte(strings.ToLower(md5Param))) {
			return ErrAuthBodyMD5
		}
	}
	want := Sign(secret, StringToSign(method, path, q))
	if !hmac.Equal([]byte(want), []byte(strings.ToLower(q["auth_signature"]))) {
		return ErrAuthSignature
	}
	return nil
}

// SignRequest returns the query string (unescaped, as the SDKs send it)
// for a signed request. Tests and the load generator use it.
func SignRequest(method, path string, params Query, body []byte, key, secret string, now time.Time) string {
	q := Query{}
	for k, v := range params {
		q[strings.ToLower(k)] = v
	}
	q["auth_key"] = key
	q["auth_timestamp"] = strconv.FormatInt(now.Unix(), 10)
	q["auth_version"] = "1.0"
	if len(body) > 0 {
		sum := md5.Sum(body)
		q["body_md5"] = hex.EncodeToString(sum[:])
	}
	s := StringToSign(method, path, q)
	sig := Sign(secret, s)
	_, query, _ := strings.Cut(s[strings.IndexByte(s, '\n')+1:], "\n")
	return query + "&auth_signature=" + sig
}
