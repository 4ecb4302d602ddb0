package pusher

import (
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"
)

// The documentation's credentials (protocol reference §6.1, §13).
const (
	docKey    = "278d425bdf160c739803"
	docSecret = "7ad3773142a6692b25b8"
	docTime   = 1353088179
)

var (
	docBody  = []byte(`{"name":"foo","channels":["project-3"],"data":"{\"some\":\"data\"}"}`)
	docPOSTQ = "auth_key=278d425bdf160c739803&auth_timestamp=1353088179&auth_version=1.0&body_md5=ec365a775a4cd0599faeb73354201b6f" +
		"&auth_signature=da454824c97ba181a32ccc17a72625ba02771f50b50e1e7430e47a1f3f457e6c"
	docGETQ = "auth_key=278d425bdf160c739803&auth_timestamp=1353088179&auth_version=1.0&filter_by_prefix=presence-&info=user_count" +
		"&auth_signature=16819168891cb5dfd72b5c7a5d3d602605b26c6ba1930033b5e2eeeb65010291"
)

func TestReferenceSignatureVectors(t *testing.T) {
	cases := []struct{ name, got, want string }{
		{"§6.1 string to sign", StringToSign("post", "/apps/3/events", mustParse(t, docPOSTQ)),
			"POST\n/apps/3/events\nauth_key=278d425bdf160c739803&auth_timestamp=1353088179&auth_version=1.0&body_md5=ec365a775a4cd0599faeb73354201b6f"},
		{"§6.1 POST signature", Sign(docSecret, StringToSign("POST", "/apps/3/events", mustParse(t, docPOSTQ))),
			"da454824c97ba181a32ccc17a72625ba02771f50b50e1e7430e47a1f3f457e6c"},
		{"§6.1 GET signature", Sign(docSecret, StringToSign("GET", "/apps/3/channels", mustParse(t, docGETQ))),
			"16819168891cb5dfd72b5c7a5d3d602605b26c6ba1930033b5e2eeeb65010291"},
		{"§6.1 SignRequest POST", SignRequest("POST", "/apps/3/events", nil, docBody, docKey, docSecret, time.Unix(docTime, 0)), docPOSTQ},
		{"§6.1 SignRequest GET", SignRequest("GET", "/apps/3/channels", Query{"Filter_By_Prefix": "presence-", "info": "user_count"},
			nil, docKey, docSecret, time.Unix(docTime, 0)), docGETQ},
		{"§13.3 private channel", ChannelAuth(docKey, docSecret, "1234.1234", "private-foobar", ""),
			docKey + ":58df8b0c36d6982b82c3ecf6b4662e34fe8c25bba48f5369f135bf843651c3a4"},
		{"§13.6 user sign-in", UserAuth(docKey, docSecret, "1234.1234", `{"id":"12345"}`),
			docKey + ":4708d583dada6a56435fb8bc611c77c359a31eebde13337c16ab43aa6de336ba"},
		{"§15 presence channel", ChannelAuth(docKey, docSecret, "1234.1234", "presence-foobar", `{"user_id":10,"user_info":{"name":"Mr. Channels"}}`),
			docKey + ":31935e7d86dba64c2a90aed31fdc61869f9b22ba9d8863bba239c03ca481bc80"},
		{"§7 webhook", SignBytes(docSecret, []byte(`{"time_ms":1327078148132,"events":[{"name":"channel_occupied","channel":"my-channel"}]}`)),
			"c19001ae3963ccb13bf618e5b16ba9848e7e74df0993aa0689168e341c6833cf"},
	}
	for _, c := range cases {
		if c.got != c.want {
			t.Errorf("%s:\n got %s\nwant %s", c.name, c.got, c.want)
		}
	}
}

func mustParse(t *testing.T, raw string) Query {
	t.Helper()
	q, err := ParseQuery(raw)
	if err != nil {
		t.Fatalf("ParseQuery(%q): %v", raw, err)
	}
	return q
}

func TestParseQuery(t *testing.T) {
	cases := []struct {
		raw  string
		want Query
	}{
		{"", Query{}},
		// net/url would drop these pairs: ';' is legal in channel names.
		{"filter_by_prefix=presence-a;b&info=user_count,subscription_count",
			Query{"filter_by_prefix": "presence-a;b", "info": "user_count,subscription_count"}},
		{"AUTH_Key=k&&flag&v=a=b", Query{"auth_key": "k", "flag": "", "v": "a=b"}},
		{"name=hello%20world&x=%3B", Query{"name": "hello world", "x": ";"}},
		{"a=1&a=2", Query{"a": "2"}},
	}
	for _, c := range cases {
		got := mustParse(t, c.raw)
		if len(got) != len(c.want) {
			t.Errorf("%q: got %v, want %v", c.raw, got, c.want)
			continue
		}
		for k, v := range c.want {
			if gv, ok := got[k]; !ok || gv != v {
				t.Errorf("%q: [%s] = %q, want %q", c.raw, k, gv, v)
			}
		}
	}
	for _, bad := range []string{"a=%zz", "%=1", "x=%"} {
		if _, err := ParseQuery(bad); !errors.Is(err, ErrQuery) {
			t.Errorf("ParseQuery(%q) = %v, want ErrQuery", bad, err)
		}
	}
}

func TestVerifyRequest(t *testing.T) {
	at := time.Unix(docTime, 0)
	post := mustParse(t, docPOSTQ)
	if err := VerifyRequest("POST", "/apps/3/events", post, docBody, docKey, docSecret, at); err != nil {
		t.Fatalf("docs POST example: %v", err)
	}
	if err := VerifyRequest("GET", "/apps/3/channels", mustParse(t, docGETQ), nil, docKey, docSecret, at); err != nil {
		t.Fatalf("docs GET example: %v", err)
	}

	with := func(k, v string) Query {
		q := Query{}
		for kk, vv := range post {
			q[kk] = vv
		}
		if v == "\x00" {
			delete(q, k)
		} else {
			q[k] = v
		}
		return q
	}
	cases := []struct {
		name string
		q    Query
		body []byte
		now  time.Time
		want error
	}{
		{"missing signature", with("auth_signature", "\x00"), docBody, at, ErrAuthMissing},
		{"missing key", with("auth_key", "\x00"), docBody, at, ErrAuthMissing},
		{"other key", with("auth_key", "someone-else"), docBody, at, ErrAuthKey},
		{"version 2", with("auth_version", "2.0"), docBody, at, ErrAuthVersion},
		{"timestamp not a number", with("auth_timestamp", "soon"), docBody, at, ErrAuthTimestamp},
		{"601 s late", post, docBody, at.Add(601 * time.Second), ErrAuthTimestamp},
		{"601 s early", post, docBody, at.Add(-601 * time.Second), ErrAuthTimestamp},
		{"body changed", post, append([]byte(nil), append(docBody, ' ')...), at, ErrAuthBodyMD5},
		{"body without body_md5", with("body_md5", "\x00"), docBody, at, ErrAuthBodyMD5},
		{"body_md5 without body", post, nil, at, ErrAuthBodyMD5},
		{"signature of something else", with("auth_signature", strings.Repeat("0", 64)), docBody, at, ErrAuthSignature},
		{"extra parameter not signed", with("info", "user_count"), docBody, at, ErrAuthSignature},
		{"599 s late", post, docBody, at.Add(599 * time.Second), nil},
		{"upper-case hex signature", with("auth_signature", strings.ToUpper(post["auth_signature"])), docBody, at, nil},
		{"upper-case body_md5", with("body_md5", strings.ToUpper(post["body_md5"])), docBody, at, ErrAuthSignature},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if err := VerifyRequest("POST", "/apps/3/events", c.q, c.body, docKey, docSecret, c.now); !errors.Is(err, c.want) {
				t.Fatalf("got %v, want %v", err, c.want)
			}
		})
	}
	if err := VerifyRequest("POST", "/apps/4/events", post, docBody, docKey, docSecret, at); !errors.Is(err, ErrAuthSignature) {
		t.Fatalf("another path: %v", err)
	}
}

func TestSignRequestRoundTrip(t *testing.T) {
	now := time.Now()
	params := Query{"filter_by_prefix": "presence-a;b", "info": "user_count,subscription_count"}
	raw := SignRequest("get", "/apps/1/channels", params, nil, "k", "s", now)
	if !strings.Contains(raw, "filter_by_prefix=presence-a;b&") {
		t.Fatalf("query %q is not sent unescaped as the SDKs do", raw)
	}
	if err := VerifyRequest("GET", "/apps/1/channels", mustParse(t, raw), nil, "k", "s", now); err != nil {
		t.Fatal(err)
	}
}

// queryValueSafe reports whether v survives the unescaped query the SDKs
// send: '&' splits pairs, '%' starts an escape and '+' reads as a space.
func queryValueSafe(v string) bool { return !strings.ContainsAny(v, "&%+") }

func FuzzParseQuery(f *testing.F) {
	f.Add("filter_by_prefix=presence-a;b&info=user_count")
	f.Add(docPOSTQ)
	f.Add("a=%zz&&=&b")
	f.Add("A=1&a=2&%41=3")
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := ParseQuery(raw)
		if err != nil {
			return
		}
		// Re-encoding every pair properly must give back the same map.
		var b strings.Builder
		for k, v := range q {
			if k != strings.ToLower(k) {
				t.Fatalf("key %q not lower-cased", k)
			}
			b.WriteString(url.QueryEscape(k) + "=" + url.QueryEscape(v) + "&")
		}
		again, err := ParseQuery(b.String())
		if err != nil || len(again) != len(q) {
			t.Fatalf("re-encoded %q: %v %v", b.String(), again, err)
		}
		for k, v := range q {
			if again[k] != v {
				t.Fatalf("key %q: %q became %q", k, v, again[k])
			}
		}
	})
}

func FuzzVerifyRequest(f *testing.F) {
	f.Add("POST", "/apps/3/events", docPOSTQ, docBody, "presence-a;b", int64(0))
	f.Add("GET", "/apps/3/channels", docGETQ, []byte(nil), "", int64(-700))
	f.Add("get", "/", "auth_timestamp=99999999999999999999", []byte("x"), "a&b", int64(1<<62))
	f.Fuzz(func(t *testing.T, method, path, raw string, body []byte, value string, skew int64) {
		at := time.Unix(docTime, 0)
		// Arbitrary input: any answer but a panic.
		if q, err := ParseQuery(raw); err == nil {
			_ = VerifyRequest(method, path, q, body, docKey, docSecret, at.Add(time.Duration(skew)))
		}
		// What SignRequest makes, VerifyRequest accepts (when the value
		// can travel unescaped at all), and a changed body it refuses.
		if !queryValueSafe(value) || strings.ContainsAny(method+path, "\n") {
			return
		}
		signed := SignRequest(method, path, Query{"v": value}, body, docKey, docSecret, at)
		q, err := ParseQuery(signed)
		if err != nil {
			t.Fatalf("ParseQuery(SignRequest(…)) = %v for %q", err, signed)
		}
		if err := VerifyRequest(method, path, q, body, docKey, docSecret, at); err != nil {
			t.Fatalf("signed request refused: %v (query %q)", err, signed)
		}
		if err := VerifyRequest(method, path, q, append(body, 'x'), docKey, docSecret, at); err == nil {
			t.Fatal("a changed body was accepted")
		}
	})
}
