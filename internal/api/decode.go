package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
)

// decodeJSON reads exactly one JSON object from r's body into dst, bounded
// by limit bytes. Unknown fields, wrong types, trailing data and a body
// over the limit are client errors with a message that says which.
// allowEmpty accepts an empty body and leaves dst untouched.
func decodeJSON(w http.ResponseWriter, r *http.Request, limit int64, dst any, allowEmpty bool) error {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
			return errorf(codeUnsupportedMedia, "Content-Type must be application/json")
		}
	}
	body := http.MaxBytesReader(w, r.Body, limit)
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		if errors.Is(err, io.EOF) && allowEmpty {
			return nil
		}
		return jsonError(err, limit)
	}
	if err := dec.Decode(&struct{}{}); !errors.Is(err, io.EOF) {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return tooLarge(limit)
		}
		return errorf(codeBadRequest, "request body must hold a single JSON object; found data after it")
	}
	return nil
}

func tooLarge(limit int64) error {
	return errorf(codeTooLarge, fmt.Sprintf("request body is larger than %d bytes", limit))
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
		return errorf(codeBadRequest, "request body is empty; a JSON object is required")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return errorf(codeBadRequest, "request body is truncated JSON")
	case errors.As(err, &syn):
		return errorf(codeBadRequest, fmt.Sprintf("request body is malformed JSON at byte %d", syn.Offset))
	case errors.As(err, &typ):
		if typ.Field == "" {
			return errorf(codeBadRequest, fmt.Sprintf("request body must be a JSON object, not %s", typ.Value))
		}
		return errorf(codeBadRequest, fmt.Sprintf("field %q must be %s, not %s", typ.Field, jsonTypeName(typ.Type.Kind().String()), typ.Value))
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		// encoding/json has no typed error for this; the field name is
		// the client's own input, quoted by the decoder.
		return errorf(codeBadRequest, "unknown field "+strings.TrimPrefix(err.Error(), "json: unknown field "))
	default:
		return errorf(codeBadRequest, "request body is not valid JSON")
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

// queryInt parses an optional integer query parameter; absent is def.
func queryInt(r *http.Request, name string, def int64) (int64, error) {
	s := r.URL.Query().Get(name)
	if s == "" {
		return def, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, errorf(codeBadRequest, fmt.Sprintf("query parameter %s must be an integer", name))
	}
	return n, nil
}
