package attachapi

import (
	"errors"
	"net/http"

	"github.com/parleyhq/parley/internal/httpx"
	"github.com/parleyhq/parley/internal/messenger"
	"github.com/parleyhq/parley/internal/upload"
)

// uploadError translates what ProcessRequest returns. The body limit is
// checked first: ProcessRequest reports a body cut off by
// http.MaxBytesReader as malformed.
func uploadError(err error) error {
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe), errors.Is(err, upload.ErrTooLarge):
		return httpx.NewError(messenger.ETOOLARGE, "the file exceeds the size limit")
	case errors.Is(err, upload.ErrTypeNotAllowed):
		return httpx.NewError(httpx.CodeUnsupportedMedia, "this file type is not allowed")
	case errors.Is(err, upload.ErrImageTooLarge):
		return httpx.NewError(httpx.CodeImageTooLarge, "the image has too many pixels")
	case errors.Is(err, upload.ErrEmpty):
		return httpx.NewError(messenger.EINVALID, "the file is empty")
	case errors.Is(err, upload.ErrMalformed):
		return httpx.NewError(messenger.EINVALID, "malformed upload: send multipart/form-data with the file in the field \"file\"")
	}
	return err
}
