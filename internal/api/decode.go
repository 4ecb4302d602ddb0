package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/parleyhq/parley/internal/httpx"
	"github.com/parleyhq/parley/internal/messenger"
)

// decodeJSON reads exactly one JSON object from r's body into dst, bounded
// by limit bytes. Unknown fields, wrong types, trailing data and a body
// over the limit are client errors with a message that says which.
// allowEmpty accepts an empty body and leaves dst untouched.
func decodeJSON(w http.ResponseWriter, r *http.Request, limit int64, dst any, allowEmpty bool) error {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
			return httpx.NewError(httpx.CodeUnsupportedMedia, "Content-Type must be application/json")
		}
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return tooLarge(limit)
		}
		return httpx.NewError(messenger.EINVALID, "could not read request body")
	}
	if len(bytes.TrimSpace(body)) == 0 && allowEmpty {
		return nil
	}
	// encoding/json would quietly turn invalid UTF-8 into U+FFFD and store
	// text the client never sent; JSON must be UTF-8 (RFC 8259 §8.1).
	if !utf8.Valid(body) {
		return httpx.NewError(messenger.EINVALID, "request body is not valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return jsonError(err, limit)
	}
	if err := dec.Decode(&struct{}{}); !errors.Is(err, io.EOF) {
		return httpx.NewError(messenger.EINVALID, "request body must hold a single JSON object; found data after it")
	}
	return nil
}

func tooLarge(limit int64) error {
	return httpx.NewError(messenger.ETOOLARGE, fmt.Sprintf("request body is larger than %d bytes", limit))
}

// jsonError turns a decoding error into a message a client can act on.
func jsonError(err error, limit int64) error {
	var (
		syn *json.SyntaxError
		typ *json.UnmarshalTypeError
		mbe *http.MaxBytesError
	)
	switch {
	case errors.As(err, &mbe):
		return tooLarge(limit)
	case errors.Is(err, io.EOF):
		return httpx.NewError(messenger.EINVALID, "request body is empty; a JSON object is required")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return httpx.NewError(messenger.EINVALID, "request body is truncated JSON")
	case errors.As(err, &syn):
		return httpx.NewError(messenger.EINVALID, fmt.Sprintf("request body is malformed JSON at byte %d", syn.Offset))
	case errors.As(err, &typ):
		if typ.Field == "" {
			return httpx.NewError(messenger.EINVALID, fmt.Sprintf("request body must be a JSON object, not %s", typ.Value))
		}
		return httpx.NewError(messenger.EINVALID, fmt.Sprintf("field %q must be %s, not %s", typ.Field, jsonTypeName(typ.Type.Kind().String()), typ.Value))
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		// encoding/json has no typed error for this; the field name is
		// the client's own input, quoted by the decoder.
		return httpx.NewError(messenger.EINVALID, "unknown field "+strings.TrimPrefix(err.Error(), "json: unknown field "))
	default:
		return httpx.NewError(messenger.EINVALID, "request body is not valid JSON")
	}
}

func jsonTypeName(kind string) string {
	switch kind {
	case "int", "int64", "int32", "uint", "uint64", "float64":
		return "a number"
	case "string":
		return "a string"
	case "bool":
		return "true or false"
	case "slice":
		return "an array"
	case "struct", "map":
		return "an object"
	}
	return kind
}

// query parses the query string strictly: net/url's URL.Query drops
// malformed pairs silently, which would turn a bad cursor into "no cursor".
func query(r *http.Request) (url.Values, error) {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, httpx.NewError(messenger.EINVALID, "malformed query string")
	}
	return q, nil
}

// queryString returns one query parameter, or a 400 for a malformed query.
func queryString(r *http.Request, name string) (string, error) {
	q, err := query(r)
	if err != nil {
		return "", err
	}
	return q.Get(name), nil
}

// queryInt parses an optional integer query parameter; absent is def.
func queryInt(r *http.Request, name string, def int64) (int64, error) {
	s, err := queryString(r, name)
	if err != nil {
		return 0, err
	}
	if s == "" {
		return def, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, httpx.NewError(messenger.EINVALID, fmt.Sprintf("query parameter %s must be an integer", name))
	}
	return n, nil
}
