package messenger

import (
	"errors"
	"fmt"
)

// Error codes. The HTTP layer maps each to one status in one table.
const (
	ENOTFOUND     = "not_found"    // 404: missing, or not visible to the caller
	EINVALID      = "invalid"      // 400: bad input
	ECONFLICT     = "conflict"     // 409: state conflict
	EFORBIDDEN    = "forbidden"    // 403: known resource, action not allowed
	EUNAUTHORIZED = "unauthorized" // 401: no or bad identity
	ETOOLARGE     = "too_large"    // 413: over a size/count limit
	EINTERNAL     = "internal"     // 500: anything else
)

// Error is the one error type of the messenger. Message is safe to show to
// the caller: it never carries message content or other PHI.
type Error struct {
	Code    string
	Message string
}

func (e *Error) Error() string {
	return fmt.Sprintf("messenger: code=%s message=%s", e.Code, e.Message)
}

// Errorf returns an *Error with the given code and a formatted message.
func Errorf(code string, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of err if it is (or wraps) an *Error,
// EINTERNAL for any other non-nil error and "" for nil.
func ErrorCode(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the caller-safe message of err; other errors yield
// "Internal error." so that driver details never reach a client.
func ErrorMessage(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Message
	}
	return "Internal error."
}
