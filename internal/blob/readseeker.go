package blob

import (
	"context"
	"errors"
	"fmt"
	"io"
)

// ReadSeeker adapts a Store value to io.ReadSeeker so that
// http.ServeContent can answer Range and If-Range requests. It opens the
// underlying reader lazily at the current position and reopens it after a
// Seek, so only the requested ranges are fetched and decrypted; nothing is
// buffered beyond what the store's reader holds.
//
// A ReadSeeker belongs to one goroutine. Close releases the open reader.
type ReadSeeker struct {
	ctx   context.Context
	store Store
	key   string
	size  int64
	pos   int64
	rc    io.ReadCloser
}

// NewReadSeeker returns a ReadSeeker over key, whose size the caller got
// from Stat (or from the metadata row). It does no I/O until the first Read.
func NewReadSeeker(ctx context.Context, s Store, key string, size int64) *ReadSeeker {
	return &ReadSeeker{ctx: ctx, store: s, key: key, size: size}
}

// Read implements io.Reader.
func (r *ReadSeeker) Read(p []byte) (int, error) {
	if r.pos >= r.size {
		return 0, io.EOF
	}
	if r.rc == nil {
		rc, err := r.store.Open(r.ctx, r.key, r.pos, -1)
		if err != nil {
			return 0, err
		}
		r.rc = rc
	}
	if rest := r.size - r.pos; int64(len(p)) > rest {
		p = p[:rest]
	}
	n, err := r.rc.Read(p)
	r.pos += int64(n)
	if errors.Is(err, io.EOF) && r.pos < r.size {
		// The value shrank under us (a concurrent overwrite): say so rather
		// than serve a short body that claims the old length.
		err = fmt.Errorf("blob %s: %w", r.key, io.ErrUnexpectedEOF)
	}
	return n, err
}

// Seek implements io.Seeker. Seeking does no I/O.
func (r *ReadSeeker) Seek(offset int64, whence int) (int64, error) {
	var abs int64
	switch whence {
	case io.SeekStart:
		abs = offset
	case io.SeekCurrent:
		abs = r.pos + offset
	case io.SeekEnd:
		abs = r.size + offset
	default:
		return 0, fmt.Errorf("blob: bad whence %d", whence)
	}
	if abs < 0 {
		return 0, fmt.Errorf("%w: negative position", ErrInvalidRange)
	}
	if abs != r.pos && r.rc != nil {
		r.rc.Close()
		r.rc = nil
	}
	r.pos = abs
	return abs, nil
}

// ReadAt implements io.ReaderAt (used to inspect zip and OLE containers);
// each call opens its own range reader and does not move the position.
func (r *ReadSeeker) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("%w: negative offset", ErrInvalidRange)
	}
	if off >= r.size {
		return 0, io.EOF
	}
	want := int64(len(p))
	if rest := r.size - off; want > rest {
		want = rest
	}
	rc, err := r.store.Open(r.ctx, r.key, off, want)
	if err != nil {
		return 0, err
	}
	defer rc.Close()
	n, err := io.ReadFull(rc, p[:want])
	if err == nil && want < int64(len(p)) {
		err = io.EOF
	}
	return n, err
}

// Close releases the underlying reader, if any. It is idempotent.
func (r *ReadSeeker) Close() error {
	if r.rc == nil {
		return nil
	}
	err := r.rc.Close()
	r.rc = nil
	return err
}
