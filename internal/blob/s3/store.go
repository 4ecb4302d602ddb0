package s3

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/minio/minio-go/v7/pkg/encrypt"

	"github.com/parleyhq/parley/internal/blob"
)

var (
	_ blob.Store     = (*Store)(nil)
	_ blob.Presigner = (*Store)(nil)
	_ blob.Walker    = (*Store)(nil)
)

// DefaultPartSize is the multipart piece size, and so the memory one Put of
// unknown size holds. 5 MiB is S3's minimum part size.
const DefaultPartSize = 8 << 20

// Config configures an S3 Store.
type Config struct {
	Endpoint  string // host[:port], no scheme, e.g. "s3.eu-west-1.amazonaws.com"
	Bucket    string // must exist
	Region    string // optional for most non-AWS services
	AccessKey string
	SecretKey string
	UseSSL    bool   // https to the endpoint
	PathStyle bool   // bucket in the path rather than the host name (MinIO, versitygw)
	Prefix    string // prepended to every key, e.g. "parley/"; must be empty or end in '/'
	SSE       bool   // ask for server-side encryption (SSE-S3, AES256) on every object
	PartSize  uint64 // 0 means DefaultPartSize; at least 5 MiB
}

// Store is the S3-compatible blob.Store.
type Store struct {
	cfg  Config
	cl   *minio.Client
	core minio.Core
	sse  encrypt.ServerSide
}

// Open connects and checks that the bucket exists.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	var problems []string
	if cfg.Endpoint == "" {
		problems = append(problems, "Endpoint is required")
	}
	if cfg.Bucket == "" {
		problems = append(problems, "Bucket is required")
	}
	if cfg.Prefix != "" && (!strings.HasSuffix(cfg.Prefix, "/") || blob.ValidKey(strings.TrimSuffix(cfg.Prefix, "/")) != nil) {
		problems = append(problems, fmt.Sprintf("Prefix %q must be a valid key followed by '/'", cfg.Prefix))
	}
	if cfg.PartSize == 0 {
		cfg.PartSize = DefaultPartSize
	}
	if cfg.PartSize < 5<<20 {
		problems = append(problems, "PartSize must be at least 5 MiB")
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("blob/s3: %s", strings.Join(problems, "; "))
	}
	lookup := minio.BucketLookupAuto
	if cfg.PathStyle {
		lookup = minio.BucketLookupPath
	}
	cl, err := minio.New(cfg.Endpoint, &minio.Options{
		Creds:        credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, ""),
		Secure:       cfg.UseSSL,
		Region:       cfg.Region,
		BucketLookup: lookup,
	})
	if err != nil {
		return nil, fmt.Errorf("blob/s3: %w", err)
	}
	ok, err := cl.BucketExists(ctx, cfg.Bucket)
	if err != nil {
		return nil, fmt.Errorf("blob/s3: bucket %q: %w", cfg.Bucket, err)
	}
	if !ok {
		return nil, fmt.Errorf("blob/s3: bucket %q does not exist", cfg.Bucket)
	}
	s := &Store{cfg: cfg, cl: cl, core: minio.Core{Client: cl}}
	if cfg.SSE {
		s.sse = encrypt.NewSSE()
	}
	return s, nil
}

// Close releases nothing; idle connections belong to the HTTP transport.
func (s *Store) Close() error { return nil }

func (s *Store) object(key string) (string, error) {
	if err := blob.ValidKey(key); err != nil {
		return "", err
	}
	return s.cfg.Prefix + key, nil
}

// mapErr translates S3 errors into the blob vocabulary.
func mapErr(key string, err error) error {
	if err == nil {
		return nil
	}
	resp := minio.ToErrorResponse(err)
	switch {
	case resp.Code == "NoSuchKey" || resp.StatusCode == http.StatusNotFound && resp.Code != "NoSuchBucket":
		return fmt.Errorf("%w: %s", blob.ErrNotFound, key)
	case resp.StatusCode == http.StatusRequestedRangeNotSatisfiable || resp.Code == "InvalidRange":
		return fmt.Errorf("%w: %s", blob.ErrInvalidRange, key)
	}
	return fmt.Errorf("blob/s3: %s: %w", key, err)
}

// Put implements blob.Store.
func (s *Store) Put(ctx context.Context, key string, r io.Reader, size int64) (int64, error) {
	name, err := s.object(key)
	if err != nil {
		return 0, err
	}
	cr := &countingReader{r: r}
	var body io.Reader = cr
	if size == 0 {
		// minio-go never reads a body it was told is empty.
		if err := (&exactReader{r: cr}).checkEnd(); err != io.EOF {
			return 0, err
		}
	}
	if size >= 0 {
		body = &exactReader{r: cr, left: size, want: size}
	}
	opts := minio.PutObjectOptions{
		ContentType:          "application/octet-stream",
		PartSize:             s.cfg.PartSize,
		ServerSideEncryption: s.sse,
	}
	info, err := s.cl.PutObject(ctx, s.cfg.Bucket, name, body, size, opts)
	if err != nil {
		if errors.Is(err, blob.ErrSizeMismatch) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return 0, err
		}
		if cr.err != nil {
			return 0, cr.err // the caller's reader failed (say, an upload limit): report its error
		}
		return 0, mapErr(key, err)
	}
	return info.Size, nil
}

// Stat implements blob.Store.
func (s *Store) Stat(ctx context.Context, key string) (blob.Info, error) {
	name, err := s.object(key)
	if err != nil {
		return blob.Info{}, err
	}
	oi, err := s.cl.StatObject(ctx, s.cfg.Bucket, name, s.getOpts())
	if err != nil {
		return blob.Info{}, mapErr(key, err)
	}
	return blob.Info{Size: oi.Size}, nil
}

func (s *Store) getOpts() minio.GetObjectOptions {
	// SSE-S3 needs no header on reads; only SSE-C would.
	return minio.GetObjectOptions{}
}

// Open implements blob.Store with one ranged GET.
func (s *Store) Open(ctx context.Context, key string, offset, length int64) (io.ReadCloser, error) {
	name, err := s.object(key)
	if err != nil {
		return nil, err
	}
	if offset < 0 {
		return nil, fmt.Errorf("%w: offset %d", blob.ErrInvalidRange, offset)
	}
	if length == 0 {
		return s.empty(ctx, key, offset)
	}
	opts := s.getOpts()
	switch {
	case offset == 0 && length < 0:
		// whole object: no Range header
	case length < 0:
		err = opts.SetRange(offset, 0)
	default:
		err = opts.SetRange(offset, offset+length-1)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %v", blob.ErrInvalidRange, err)
	}
	body, _, _, err := s.core.GetObject(ctx, s.cfg.Bucket, name, opts)
	if err != nil {
		err = mapErr(key, err)
		if errors.Is(err, blob.ErrInvalidRange) {
			// S3 refuses a range starting at the end; the contract allows it.
			return s.empty(ctx, key, offset)
		}
		return nil, err
	}
	return body, nil
}

// empty answers a zero-length read after checking that key exists and
// offset is within [0, size].
func (s *Store) empty(ctx context.Context, key string, offset int64) (io.ReadCloser, error) {
	info, err := s.Stat(ctx, key)
	if err != nil {
		return nil, err
	}
	if offset > info.Size {
		return nil, fmt.Errorf("%w: offset %d of %d bytes", blob.ErrInvalidRange, offset, info.Size)
	}
	return io.NopCloser(bytes.NewReader(nil)), nil
}

// Delete implements blob.Store.
func (s *Store) Delete(ctx context.Context, key string) error {
	name, err := s.object(key)
	if err != nil {
		return err
	}
	err = mapErr(key, s.cl.RemoveObject(ctx, s.cfg.Bucket, name, minio.RemoveObjectOptions{}))
	if errors.Is(err, blob.ErrNotFound) {
		return nil
	}
	return err
}

// PresignGet implements blob.Presigner. The link forces the download's
// Content-Type and Content-Disposition, since the object's own type is
// application/octet-stream.
func (s *Store) PresignGet(ctx context.Context, key string, ttl time.Duration, filename, contentType string) (string, error) {
	name, err := s.object(key)
	if err != nil {
		return "", err
	}
	params := url.Values{}
	if disp := mime.FormatMediaType("attachment", map[string]string{"filename": filename}); disp != "" {
		params.Set("response-content-disposition", disp)
	} else {
		params.Set("response-content-disposition", "attachment")
	}
	if contentType != "" {
		params.Set("response-content-type", contentType)
	}
	u, err := s.cl.PresignedGetObject(ctx, s.cfg.Bucket, name, ttl, params)
	if err != nil {
		return "", mapErr(key, err)
	}
	return u.String(), nil
}

// Walk implements blob.Walker.
func (s *Store) Walk(ctx context.Context, prefix string, fn func(key string, size int64, modified time.Time) error) error {
	for oi := range s.cl.ListObjectsIter(ctx, s.cfg.Bucket, minio.ListObjectsOptions{Prefix: s.cfg.Prefix + prefix, Recursive: true}) {
		if oi.Err != nil {
			return fmt.Errorf("blob/s3: list: %w", oi.Err)
		}
		key := strings.TrimPrefix(oi.Key, s.cfg.Prefix)
		if blob.ValidKey(key) != nil {
			continue
		}
		if err := fn(key, oi.Size, oi.LastModified); err != nil {
			return err
		}
	}
	return ctx.Err()
}

// countingReader remembers the caller's reader error, which minio-go may
// wrap beyond recognition, and keeps minio-go from mistaking it for EOF.
type countingReader struct {
	r   io.Reader
	n   int64
	err error
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	if err != nil && err != io.EOF {
		// Wrap so that minio-go, which compares with ==, cannot take the
		// caller's io.ErrUnexpectedEOF (a truncated multipart body) for
		// the end of the value and complete the upload.
		err = fmt.Errorf("blob/s3: reading the value: %w", err)
		c.err = err
	}
	return n, err
}

// exactReader fails, before the last byte reaches the server, when the
// source is longer or shorter than the declared size, so the request is
// aborted and no object is created.
type exactReader struct {
	r       io.Reader
	left    int64
	want    int64
	pending error // reported on the next Read
}

func (e *exactReader) Read(p []byte) (int, error) {
	if e.pending != nil {
		return 0, e.pending
	}
	if e.left == 0 {
		return 0, e.checkEnd()
	}
	if int64(len(p)) > e.left {
		p = p[:e.left]
	}
	n, err := e.r.Read(p)
	e.left -= int64(n)
	switch {
	case err == io.EOF && e.left > 0:
		return n, fmt.Errorf("%w: got %d bytes, want %d", blob.ErrSizeMismatch, e.want-e.left, e.want)
	case err != nil && err != io.EOF:
		return n, err
	case e.left == 0 && n > 0:
		if end := e.checkEnd(); end != io.EOF {
			// Hold back the last byte: a reader such as io.ReadFull
			// drops the error of a read that fills its buffer, and the
			// upload must not complete.
			e.pending = end
			return n - 1, nil
		}
		return n, io.EOF
	}
	return n, nil
}

func (e *exactReader) checkEnd() error {
	var one [1]byte
	n, err := io.ReadFull(e.r, one[:])
	if n > 0 {
		return fmt.Errorf("%w: more than %d bytes", blob.ErrSizeMismatch, e.want)
	}
	if err != nil && err != io.EOF {
		return err
	}
	return io.EOF
}
