package upload

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
)

// Limits on the parts of a request other than the file.
const (
	maxOtherParts    = 8
	maxOtherPartSize = 64 << 10
)

// ProcessRequest reads a multipart/form-data request and processes the part
// named field (the API uses "file") with Process. Other parts are skipped,
// within small limits; parts after the file are not read. The HTTP layer
// should still cap the body with http.MaxBytesReader at MaxBytes() plus a
// little for the multipart framing.
func (p *Processor) ProcessRequest(r *http.Request, field string) (*Attachment, error) {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/form-data" {
		return nil, fmt.Errorf("%w: want multipart/form-data", ErrMalformed)
	}
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	for i := 0; ; i++ {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%w: no %q part", ErrMalformed, field)
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
		}
		if part.FormName() == field {
			a, err := p.Process(r.Context(), part, part.FileName())
			part.Close()
			return a, err
		}
		if i >= maxOtherParts {
			return nil, fmt.Errorf("%w: too many parts", ErrMalformed)
		}
		n, err := io.CopyN(io.Discard, part, maxOtherPartSize+1)
		part.Close()
		if n > maxOtherPartSize {
			return nil, fmt.Errorf("%w: part %q too large", ErrMalformed, part.FormName())
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
		}
	}
}
