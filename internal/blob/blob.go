package blob

import (
	"context"
	"errors"
	"io"
	"time"
)

// Errors every Store reports, wrapped with detail; test with errors.Is.
var (
	// ErrNotFound: no blob under that key.
	ErrNotFound = errors.New("blob: not found")
	// ErrInvalidKey: the key does not satisfy ValidKey.
	ErrInvalidKey = errors.New("blob: invalid key")
	// ErrInvalidRange: Open was asked for an offset outside [0, size].
	ErrInvalidRange = errors.New("blob: invalid range")
	// ErrSizeMismatch: Put was told a size and the reader delivered another.
	ErrSizeMismatch = errors.New("blob: size mismatch")
	// ErrCorrupt: stored bytes failed authentication (tampered, truncated,
	// or encrypted under another key). Never served as if it were data.
	ErrCorrupt = errors.New("blob: corrupt or tampered")
)

// Store keeps byte strings under keys.
type Store interface {
	// Put stores everything r delivers under key, replacing any previous
	// value atomically. size is the exact length when known, or -1; when it
	// is not -1 and r delivers a different number of bytes Put fails with
	// ErrSizeMismatch. Put streams: it never holds the whole value in
	// memory. It returns the number of bytes stored. On any error nothing
	// new is visible under key.
	Put(ctx context.Context, key string, r io.Reader, size int64) (written int64, err error)

	// Open returns a reader of length bytes of the value starting at
	// offset; length -1 (or one past the end) reads to the end. offset must
	// lie in [0, size] (offset == size yields an empty reader), else
	// ErrInvalidRange. Errors: ErrNotFound, ErrInvalidKey, ErrInvalidRange;
	// the reader itself may fail with ErrCorrupt. The caller must Close it.
	Open(ctx context.Context, key string, offset, length int64) (io.ReadCloser, error)

	// Stat reports the size of the value. Errors: ErrNotFound, ErrInvalidKey.
	Stat(ctx context.Context, key string) (Info, error)

	// Delete removes the value. Deleting a missing key is not an error, so
	// janitors can retry. Errors: ErrInvalidKey.
	Delete(ctx context.Context, key string) error
}

// Info describes a stored value.
type Info struct {
	Size int64 // plaintext bytes, as Put received them
}

// Presigner is an optional capability (found by type assertion) of stores
// whose bytes a client can fetch directly, such as S3. The URL grants access
// to anyone holding it until it expires, so it leaves the PHI boundary: the
// HTTP layer uses it only when configured to.
type Presigner interface {
	// PresignGet returns a URL valid for ttl that downloads key with the
	// given Content-Disposition file name and Content-Type.
	PresignGet(ctx context.Context, key string, ttl time.Duration, filename, contentType string) (string, error)
}

// Walker is an optional capability for janitors: it lists stored values
// whose key starts with prefix, so blobs without a metadata row (a crash
// between Put and the row's insert) can be found and deleted.
type Walker interface {
	// Walk calls fn for every value under prefix, in no particular order.
	// An error from fn stops the walk and is returned.
	Walk(ctx context.Context, prefix string, fn func(key string, size int64, modified time.Time) error) error
}
