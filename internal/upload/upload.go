package upload

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"

	"github.com/parleyhq/parley/internal/blob"
)

// Errors Process reports, wrapped with detail; the HTTP layer maps them:
// ErrTooLarge 413, ErrTypeNotAllowed 415, ErrImageTooLarge 422,
// ErrEmpty and ErrMalformed 400. Anything else is a storage failure (500).
var (
	ErrEmpty          = errors.New("upload: empty file")
	ErrTooLarge       = errors.New("upload: file exceeds the size limit")
	ErrTypeNotAllowed = errors.New("upload: file type not allowed")
	ErrImageTooLarge  = errors.New("upload: image dimensions exceed the limit")
	ErrMalformed      = errors.New("upload: malformed upload")
)

// Defaults for Config's zero values.
const (
	DefaultMaxBytes             = 25 << 20
	DefaultMaxPixels            = 40_000_000
	DefaultMaxConcurrentDecodes = 2
	DefaultKeyPrefix            = "att/"
)

// DefaultThumbnailSizes are the longest sides, in pixels, of the previews
// made for images: a list bubble and a larger preview.
var DefaultThumbnailSizes = []int{160, 480}

// Config sets the rules. Zero values take the defaults above.
type Config struct {
	MaxBytes             int64    // largest accepted file, in bytes (default 25 MiB)
	Allowed              []string // allowed content types (default DefaultAllowed)
	ThumbnailSizes       []int    // longest side of each thumbnail, pixels (default 160, 480); empty slice via NoThumbnails
	NoThumbnails         bool     // make no thumbnails at all
	MaxPixels            int64    // largest image (width×height) decoded for thumbnails and accepted (default 40 MP)
	MaxConcurrentDecodes int      // images decoded at once across all uploads (default 2): each may need 4 bytes per pixel
	KeyPrefix            string   // blob key prefix (default "att/")
	Logger               *slog.Logger
}

// Validate reports every problem with cfg at once.
func (c Config) Validate() error {
	var errs []error
	if c.MaxBytes < 0 {
		errs = append(errs, fmt.Errorf("MaxBytes %d is negative", c.MaxBytes))
	}
	for _, t := range c.Allowed {
		if _, ok := extensions[t]; !ok {
			errs = append(errs, fmt.Errorf("Allowed: %q is not a type this server can recognise", t))
		}
	}
	for _, s := range c.ThumbnailSizes {
		if s < 16 || s > 4096 {
			errs = append(errs, fmt.Errorf("ThumbnailSizes: %d outside 16..4096", s))
		}
	}
	if c.MaxPixels < 0 || c.MaxConcurrentDecodes < 0 {
		errs = append(errs, errors.New("MaxPixels and MaxConcurrentDecodes must not be negative"))
	}
	if c.KeyPrefix != "" && (!strings.HasSuffix(c.KeyPrefix, "/") || blob.ValidKey(strings.TrimSuffix(c.KeyPrefix, "/")) != nil) {
		errs = append(errs, fmt.Errorf("KeyPrefix %q must be a valid blob key followed by '/'", c.KeyPrefix))
	}
	return errors.Join(errs...)
}

// Attachment is the metadata of one stored upload, for the messenger's
// attachment row and the API response.
type Attachment struct {
	Key         string      `json:"-"`            // blob key of the file; never shown to clients
	Name        string      `json:"name"`         // sanitised file name, extension matching ContentType
	ContentType string      `json:"content_type"` // sniffed type, one of Config.Allowed
	Size        int64       `json:"size"`         // bytes
	SHA256      string      `json:"sha256"`       // lower-case hex of the file's SHA-256
	Width       int         `json:"width,omitempty"`
	Height      int         `json:"height,omitempty"` // images only, as displayed (EXIF orientation applied)
	Thumbnails  []Thumbnail `json:"thumbnails,omitempty"`
}

// Keys returns every blob key the attachment owns (file and thumbnails),
// for deletion.
func (a *Attachment) Keys() []string {
	keys := []string{a.Key}
	for _, t := range a.Thumbnails {
		keys = append(keys, t.Key)
	}
	return keys
}

// Processor runs uploads against one blob store.
type Processor struct {
	store   blob.Store
	cfg     Config
	allowed map[string]bool
	decodes chan struct{}
	log     *slog.Logger
}

// New returns a Processor storing into store.
func New(store blob.Store, cfg Config) (*Processor, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.MaxBytes == 0 {
		cfg.MaxBytes = DefaultMaxBytes
	}
	if len(cfg.Allowed) == 0 {
		cfg.Allowed = DefaultAllowed
	}
	if cfg.ThumbnailSizes == nil {
		cfg.ThumbnailSizes = DefaultThumbnailSizes
	}
	cfg.ThumbnailSizes = slices.Clone(cfg.ThumbnailSizes)
	slices.Sort(cfg.ThumbnailSizes)
	if cfg.NoThumbnails {
		cfg.ThumbnailSizes = nil
	}
	if cfg.MaxPixels == 0 {
		cfg.MaxPixels = DefaultMaxPixels
	}
	if cfg.MaxConcurrentDecodes == 0 {
		cfg.MaxConcurrentDecodes = DefaultMaxConcurrentDecodes
	}
	if cfg.KeyPrefix == "" {
		cfg.KeyPrefix = DefaultKeyPrefix
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	p := &Processor{store: store, cfg: cfg, allowed: map[string]bool{}, decodes: make(chan struct{}, cfg.MaxConcurrentDecodes), log: cfg.Logger}
	for _, t := range cfg.Allowed {
		p.allowed[t] = true
	}
	return p, nil
}

// MaxBytes is the effective size limit, for the HTTP layer's body limit.
func (p *Processor) MaxBytes() int64 { return p.cfg.MaxBytes }

// allowedProvisional reports whether a Sniff result may still become an
// allowed type, so hopeless uploads are refused before anything is stored.
func (p *Processor) allowedProvisional(t string) bool {
	switch t {
	case TypeExecutable, typeUnsupportedOffice:
		return false
	case typeZip:
		return slices.ContainsFunc(zipTypes, func(z string) bool { return p.allowed[z] })
	case typeOLE:
		return slices.ContainsFunc(oleTypes, func(z string) bool { return p.allowed[z] })
	}
	return p.allowed[t]
}

// newKey returns a fresh random blob key, fanned out over 256 prefixes so
// no directory of the local store grows huge.
func (p *Processor) newKey() string {
	var b [16]byte
	rand.Read(b[:])
	h := hex.EncodeToString(b[:])
	return p.cfg.KeyPrefix + h[:2] + "/" + h
}

// Process stores one upload read from r (a multipart part, say), whose
// client-side file name is clientName. On success the file and its
// thumbnails are stored under the returned keys; on any error nothing is
// left in the store.
func (p *Processor) Process(ctx context.Context, r io.Reader, clientName string) (*Attachment, error) {
	head := make([]byte, SniffLen)
	n, err := readHead(r, head)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	head = head[:n]
	if n == 0 {
		return nil, ErrEmpty
	}
	provisional := Sniff(head)
	if !p.allowedProvisional(provisional) {
		return nil, fmt.Errorf("%w: %s", ErrTypeNotAllowed, provisional)
	}

	a := &Attachment{Key: p.newKey(), ContentType: provisional}
	ok := false
	defer func() {
		if !ok {
			p.deleteAll(ctx, a)
		}
	}()

	sum := sha256.New()
	var text textValidator
	sinks := []io.Writer{sum}
	if provisional == TypeText {
		sinks = append(sinks, &text)
	}
	body := &limitReader{r: io.MultiReader(bytes.NewReader(head), r), left: p.cfg.MaxBytes}
	a.Size, err = p.store.Put(ctx, a.Key, io.TeeReader(body, io.MultiWriter(sinks...)), -1)
	switch {
	case body.over:
		return nil, fmt.Errorf("%w: more than %d bytes", ErrTooLarge, p.cfg.MaxBytes)
	case body.err != nil:
		return nil, fmt.Errorf("%w: %w", ErrMalformed, body.err) // the client's body broke off
	case err != nil:
		return nil, err
	}
	a.SHA256 = hex.EncodeToString(sum.Sum(nil))

	if provisional == TypeText && !text.complete() {
		return nil, fmt.Errorf("%w: text that is not UTF-8 or contains NUL bytes", ErrTypeNotAllowed)
	}
	if provisional == typeZip || provisional == typeOLE {
		rs := blob.NewReadSeeker(ctx, p.store, a.Key, a.Size)
		a.ContentType = classifyContainer(rs, a.Size, provisional)
		rs.Close()
		if !p.allowed[a.ContentType] {
			return nil, fmt.Errorf("%w: %s", ErrTypeNotAllowed, a.ContentType)
		}
	}
	if thumbnailable(a.ContentType) {
		if err := p.inspectImage(ctx, a); err != nil {
			return nil, err
		}
	}
	a.Name = SanitizeName(clientName, a.ContentType)
	ok = true
	return a, nil
}

// inspectImage checks the image's dimensions against MaxPixels (reading
// only its header), then decodes it once to make the thumbnails.
func (p *Processor) inspectImage(ctx context.Context, a *Attachment) error {
	rc, err := p.store.Open(ctx, a.Key, 0, -1)
	if err != nil {
		return err
	}
	br := bufio.NewReaderSize(rc, 64<<10)
	orientation := 1
	if a.ContentType == TypeJPEG {
		head, _ := br.Peek(64 << 10)
		orientation = jpegOrientation(head)
	}
	cfg, err := imageConfig(br)
	rc.Close()
	if err != nil {
		return fmt.Errorf("%w: %s header does not parse", ErrTypeNotAllowed, a.ContentType)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || int64(cfg.Width)*int64(cfg.Height) > p.cfg.MaxPixels {
		return fmt.Errorf("%w: %d×%d", ErrImageTooLarge, cfg.Width, cfg.Height)
	}
	a.Width, a.Height = cfg.Width, cfg.Height
	if swapsAxes(orientation) {
		a.Width, a.Height = cfg.Height, cfg.Width
	}
	if len(p.cfg.ThumbnailSizes) == 0 {
		return nil
	}
	select {
	case p.decodes <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-p.decodes }()
	rc, err = p.store.Open(ctx, a.Key, 0, -1)
	if err != nil {
		return err
	}
	thumbs, err := makeThumbnails(ctx, rc, p.cfg.ThumbnailSizes, orientation)
	rc.Close()
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		// The header parsed but the pixels did not (a truncated photo, say):
		// keep the file, which browsers often show in part, without previews.
		p.log.InfoContext(ctx, "upload: image did not decode; no thumbnails", "type", a.ContentType, "error", err)
		return nil
	}
	for _, t := range thumbs {
		key := fmt.Sprintf("%s.t%d", a.Key, max(t.width, t.height))
		if _, err := p.store.Put(ctx, key, bytes.NewReader(t.data), int64(len(t.data))); err != nil {
			return err
		}
		a.Thumbnails = append(a.Thumbnails, Thumbnail{Key: key, Width: t.width, Height: t.height, ContentType: t.contentType, Size: int64(len(t.data))})
	}
	return nil
}

// deleteAll removes whatever a failed upload stored. It runs even when ctx
// is cancelled (the client went away), which is the common case.
func (p *Processor) deleteAll(ctx context.Context, a *Attachment) {
	ctx = context.WithoutCancel(ctx)
	for _, k := range a.Keys() {
		if err := p.store.Delete(ctx, k); err != nil {
			p.log.WarnContext(ctx, "upload: cleanup of a failed upload", "key", k, "error", err)
		}
	}
}

// readHead fills buf from r until it is full or r ends. Only io.EOF ends
// the input: io.ErrUnexpectedEOF from a truncated multipart body is an error.
func readHead(r io.Reader, buf []byte) (int, error) {
	n := 0
	for n < len(buf) {
		m, err := r.Read(buf[n:])
		n += m
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// limitReader passes at most left bytes and then fails, recording whether
// the input was longer (over) or broke (err), so the cause survives
// whatever the store wraps around it.
type limitReader struct {
	r    io.Reader
	left int64
	over bool
	err  error
}

var errLimit = errors.New("upload: size limit reached")

func (l *limitReader) Read(p []byte) (int, error) {
	if l.left <= 0 {
		// Reached the limit: one more byte means the file is too large.
		var one [1]byte
		n, err := l.r.Read(one[:])
		if n > 0 {
			l.over = true
			return 0, errLimit
		}
		if err != nil && err != io.EOF {
			l.err = err
		}
		if err == nil {
			return 0, nil
		}
		return 0, err
	}
	if int64(len(p)) > l.left {
		p = p[:l.left]
	}
	n, err := l.r.Read(p)
	l.left -= int64(n)
	if err != nil && err != io.EOF {
		l.err = err
	}
	return n, err
}
