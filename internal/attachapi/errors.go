package attachapi

import (
	"errors"
	"log/slog"
	"net/http"

	"github.com/parleyhq/parley/internal/messenger"
	"github.com/parleyhq/parley/internal/upload"
)

// Error codes of this edge beyond the messenger's (which keep their names,
// so clients see one vocabulary with internal/api).
const (
	codeMethodNotAllowed = "method_not_allowed"
	codeUnsupportedMedia = "unsupported_media_type"
	codeImageTooLarge    = "image_too_large"
)

// statusByCode is the one table from error code to HTTP status.
var statusByCode = map[string]int{
	messenger.EINVALID:      http.StatusBadRequest,
	messenger.EUNAUTHORIZED: http.StatusUnauthorized,
	messenger.EFORBIDDEN:    http.StatusForbidden,
	messenger.ENOTFOUND:     http.StatusNotFound,
	messenger.ECONFLICT:     http.StatusConflict,
	messenger.ETOOLARGE:     http.StatusRequestEntityTooLarge,
	messenger.EQUOTA:        http.StatusTooManyRequests,
	messenger.EINTERNAL:     http.StatusInternalServerError,
	codeMethodNotAllowed:    http.StatusMethodNotAllowed,
	codeUnsupportedMedia:    http.StatusUnsupportedMediaType,
	codeImageTooLarge:       http.StatusUnprocessableEntity,
}

// edgeError is an error raised here; Message is shown to the client.
type edgeError struct {
	Code    string
	Message string
}

func (e *edgeError) Error() string { return e.Code + ": " + e.Message }

func apiError(code, msg string) *edgeError { return &edgeError{Code: code, Message: msg} }

// uploadError translates what ProcessRequest returns. The body limit is
// checked first: ProcessRequest reports a body cut off by
// http.MaxBytesReader as malformed.
func uploadError(err error) error {
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe), errors.Is(err, upload.ErrTooLarge):
		return apiError(messenger.ETOOLARGE, "the file exceeds the size limit")
	case errors.Is(err, upload.ErrTypeNotAllowed):
		return apiError(codeUnsupportedMedia, "this file type is not allowed")
	case errors.Is(err, upload.ErrImageTooLarge):
		return apiError(codeImageTooLarge, "the image has too many pixels")
	case errors.Is(err, upload.ErrEmpty):
		return apiError(messenger.EINVALID, "the file is empty")
	case errors.Is(err, upload.ErrMalformed):
		return apiError(messenger.EINVALID, "malformed upload: send multipart/form-data with the file in the field \"file\"")
	}
	return err
}

func codeAndMessage(err error) (string, string) {
	var e *edgeError
	if errors.As(err, &e) {
		return e.Code, e.Message
	}
	return messenger.ErrorCode(err), messenger.ErrorMessage(err)
}

// writeError answers with err in the messenger API's JSON shape. Internal
// errors are logged (ids and keys only) and hidden from the client.
func (h *Handler) writeError(w http.ResponseWriter, r *http.Request, err error) {
	code, msg := codeAndMessage(err)
	status, ok := statusByCode[code]
	if !ok {
		status, code, msg = http.StatusInternalServerError, messenger.EINTERNAL, "Internal error."
	}
	if status >= 500 {
		h.log.LogAttrs(r.Context(), slog.LevelError, "request failed",
			slog.String("route", r.Pattern), slog.Any("err", err))
	}
	if status == http.StatusUnauthorized {
		v := `Bearer realm="parley"`
		if r.Header.Get("Authorization") != "" {
			v += `, error="invalid_token"`
		}
		w.Header().Set("WWW-Authenticate", v)
	}
	var body struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	body.Error.Code, body.Error.Message = code, msg
	writeJSON(w, status, body)
}
