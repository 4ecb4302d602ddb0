package attachapi

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"time"

	"github.com/parleyhq/parley/internal/auth"
	"github.com/parleyhq/parley/internal/blob"
	"github.com/parleyhq/parley/internal/httpx"
	"github.com/parleyhq/parley/internal/messenger"
	"github.com/parleyhq/parley/internal/upload"
)

// Messenger is what the handlers need from the domain; *messenger.Service
// implements it.
type Messenger interface {
	CheckUploadQuota(ctx context.Context, actor messenger.Actor, q messenger.UploadQuota) error
	RegisterUpload(ctx context.Context, actor messenger.Actor, a *messenger.Attachment, q messenger.UploadQuota) error
	AttachmentForDownload(ctx context.Context, actor messenger.Actor, attachmentID string) (*messenger.Attachment, error)
}

var _ Messenger = (*messenger.Service)(nil)

// Defaults for Config's zero values.
const (
	DefaultQuotaBytes = 100 << 20 // pending (unattached) bytes per user
	DefaultQuotaFiles = 20        // pending uploads per user
	DefaultPresignTTL = 5 * time.Minute
	// multipartSlack is what the body may hold beyond the file: boundaries,
	// part headers and the few small fields ProcessRequest skips.
	multipartSlack = 1 << 20
)

// Config configures the handlers. Messenger, Verifier, Store and Processor
// are required; the Processor must write into Store.
type Config struct {
	Messenger Messenger
	Verifier  *auth.Verifier
	Store     blob.Store
	Processor *upload.Processor

	// Quota bounds each user's pending uploads; zero fields take
	// DefaultQuotaFiles and DefaultQuotaBytes, negative ones disable that
	// limit.
	Quota messenger.UploadQuota

	// PresignedLinks answers downloads with a redirect to a short-lived
	// presigned URL when Store can make one (S3). Off by default: the link
	// works without Parley's authorization until it expires.
	PresignedLinks bool
	PresignTTL     time.Duration // default 5 minutes

	// ThumbnailSizes must equal the Processor's ThumbnailSizes (default
	// upload.DefaultThumbnailSizes): they name the ?thumb= values.
	ThumbnailSizes []int

	Logger *slog.Logger // default slog.Default()
}

// Handler serves /api/v1/attachments and /api/v1/attachments/{id}.
type Handler struct {
	cfg   Config
	svc   Messenger
	store blob.Store
	proc  *upload.Processor
	log   *slog.Logger
	edge  *httpx.Edge
}

// New returns the handler. Mount it on both "/api/v1/attachments" and
// "/api/v1/attachments/" (see Patterns).
func New(cfg Config) (*Handler, error) {
	var errs []error
	if cfg.Messenger == nil {
		errs = append(errs, errors.New("attachapi: Messenger is required"))
	}
	if cfg.Verifier == nil {
		errs = append(errs, errors.New("attachapi: Verifier is required"))
	}
	if cfg.Store == nil || cfg.Processor == nil {
		errs = append(errs, errors.New("attachapi: Store and Processor are required"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	switch {
	case cfg.Quota.MaxFiles == 0:
		cfg.Quota.MaxFiles = DefaultQuotaFiles
	case cfg.Quota.MaxFiles < 0:
		cfg.Quota.MaxFiles = 0 // messenger: zero means no limit
	}
	switch {
	case cfg.Quota.MaxBytes == 0:
		cfg.Quota.MaxBytes = DefaultQuotaBytes
	case cfg.Quota.MaxBytes < 0:
		cfg.Quota.MaxBytes = 0
	}
	if cfg.PresignTTL <= 0 {
		cfg.PresignTTL = DefaultPresignTTL
	}
	if cfg.ThumbnailSizes == nil {
		cfg.ThumbnailSizes = upload.DefaultThumbnailSizes
	}
	cfg.ThumbnailSizes = slices.Clone(cfg.ThumbnailSizes)
	slices.Sort(cfg.ThumbnailSizes)
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	h := &Handler{cfg: cfg, svc: cfg.Messenger, store: cfg.Store, proc: cfg.Processor,
		log: cfg.Logger.With("component", "attachapi")}
	mux := http.NewServeMux()
	h.edge = httpx.New(mux, cfg.Verifier, h.log)
	mux.Handle("POST /api/v1/attachments", h.edge.Authed(h.upload))
	mux.Handle("GET /api/v1/attachments/{id}", h.edge.Authed(h.download))
	mux.Handle("HEAD /api/v1/attachments/{id}", h.edge.Authed(h.download))
	return h, nil
}

// Patterns are the prefixes to mount the Handler on in the server's mux.
// They are more specific than the messenger API's "/api/", so they win.
var Patterns = []string{"/api/v1/attachments", "/api/v1/attachments/"}

// ServeHTTP serves the endpoints through the shared edge: request id,
// access log (no names, no contents, no query string), panic recovery and
// JSON 404/405.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.edge.ServeHTTP(w, r) }
