package httpx

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"

	"github.com/parleyhq/parley/internal/messenger"
)

// Error codes of the HTTP edge itself. Domain errors keep the messenger's
// codes (not_found, invalid, …) so a client sees one vocabulary.
const (
	CodeMethodNotAllowed = "method_not_allowed"
	CodeUnsupportedMedia = "unsupported_media_type"
	CodeRateLimited      = "rate_limited"
	CodeImageTooLarge    = "image_too_large"
)

// statusByCode is the one table from error code to HTTP status. A code
// missing here is a bug and answers 500.
var statusByCode = map[string]int{
	messenger.EINVALID:      http.StatusBadRequest,
	messenger.EUNAUTHORIZED: http.StatusUnauthorized,
	messenger.EFORBIDDEN:    http.StatusForbidden,
	messenger.ENOTFOUND:     http.StatusNotFound,
	messenger.ECONFLICT:     http.StatusConflict,
	messenger.ETOOLARGE:     http.StatusRequestEntityTooLarge,
	messenger.EQUOTA:        http.StatusTooManyRequests,
	messenger.EINTERNAL:     http.StatusInternalServerError,
	CodeMethodNotAllowed:    http.StatusMethodNotAllowed,
	CodeUnsupportedMedia:    http.StatusUnsupportedMediaType,
	CodeRateLimited:         http.StatusTooManyRequests,
	CodeImageTooLarge:       http.StatusUnprocessableEntity,
}

// Status returns the HTTP status of an error code; ok is false for a code
// the table does not know (WriteError answers those with 500).
func Status(code string) (status int, ok bool) {
	status, ok = statusByCode[code]
	return status, ok
}

// Error is an error raised by the HTTP edge. Message is shown to the
// client, so it must not carry PHI.
type Error struct {
	Code    string
	Message string
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// NewError returns an *Error; msg is used as is (no formatting).
func NewError(code, msg string) *Error { return &Error{Code: code, Message: msg} }

// errorBody is the wire shape of every error response.
type errorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// codeAndMessage resolves any error to a client-safe code and message.
func codeAndMessage(err error) (string, string) {
	var e *Error
	if errors.As(err, &e) {
		return e.Code, e.Message
	}
	return messenger.ErrorCode(err), messenger.ErrorMessage(err)
}

// WriteError answers with err as JSON. Internal errors are logged (the
// messenger promises its errors carry no PHI) and hidden from the client.
func (e *Edge) WriteError(w http.ResponseWriter, r *http.Request, err error) {
	code, msg := codeAndMessage(err)
	status, ok := statusByCode[code]
	if !ok {
		status, code, msg = http.StatusInternalServerError, messenger.EINTERNAL, "Internal error."
	}
	if status >= 500 {
		e.log.LogAttrs(r.Context(), slog.LevelError, "request failed",
			slog.String("request_id", RequestID(r.Context())), slog.String("route", r.Pattern), slog.Any("err", err))
	}
	if status == http.StatusUnauthorized {
		// RFC 6750 §3: say which scheme, and whether a token was rejected.
		v := `Bearer realm="parley"`
		if r.Header.Get("Authorization") != "" {
			v += `, error="invalid_token"`
		}
		w.Header().Set("WWW-Authenticate", v)
	}
	var b errorBody
	b.Error.Code, b.Error.Message = code, msg
	e.WriteJSON(w, r, status, b)
}

// WriteJSON writes v with status, uncached. A value that does not encode
// is a bug: it is logged and the client gets a 500. A failed write means
// the client is gone, and there is nobody left to tell.
func (e *Edge) WriteJSON(w http.ResponseWriter, r *http.Request, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		e.log.LogAttrs(r.Context(), slog.LevelError, "response does not encode",
			slog.String("request_id", RequestID(r.Context())), slog.String("route", r.Pattern), slog.Any("err", err))
		status = http.StatusInternalServerError
		b = []byte(`{"error":{"code":"internal","message":"Internal error."}}`)
	}
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}
