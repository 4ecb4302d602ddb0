package api

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
	codeBadRequest       = messenger.EINVALID
	codeUnauthorized     = messenger.EUNAUTHORIZED
	codeForbidden        = messenger.EFORBIDDEN
	codeNotFound         = messenger.ENOTFOUND
	codeTooLarge         = messenger.ETOOLARGE
	codeMethodNotAllowed = "method_not_allowed"
	codeUnsupportedMedia = "unsupported_media_type"
	codeRateLimited      = "rate_limited"
	codeUnavailable      = "unavailable"
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
	messenger.EINTERNAL:     http.StatusInternalServerError,
	codeMethodNotAllowed:    http.StatusMethodNotAllowed,
	codeUnsupportedMedia:    http.StatusUnsupportedMediaType,
	codeRateLimited:         http.StatusTooManyRequests,
	codeUnavailable:         http.StatusServiceUnavailable,
}

// Error is an error raised by the HTTP edge. Message is shown to the client.
type Error struct {
	Code    string
	Message string
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

func errorf(code, msg string) *Error { return &Error{Code: code, Message: msg} }

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

// writeError answers with err as JSON. Internal errors are logged (the
// messenger promises its errors carry no PHI) and hidden from the client.
func (a *API) writeError(w http.ResponseWriter, r *http.Request, err error) {
	code, msg := codeAndMessage(err)
	status, ok := statusByCode[code]
	if !ok {
		status, code, msg = http.StatusInternalServerError, messenger.EINTERNAL, "Internal error."
	}
	if status >= 500 {
		a.log.LogAttrs(r.Context(), slog.LevelError, "request failed",
			slog.String("request_id", requestID(r.Context())), slog.String("route", r.Pattern), slog.Any("err", err))
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
	writeJSON(w, status, b)
}

// writeJSON writes v with status. Encoding our own types cannot fail
// except on a broken connection, which there is nobody left to tell.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(`{"error":{"code":"internal","message":"Internal error."}}`)
	}
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}
