package attachapi

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/parleyhq/parley/internal/auth"
	"github.com/parleyhq/parley/internal/blob"
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
	mux   *http.ServeMux
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
		log: cfg.Logger.With("component", "attachapi"), mux: http.NewServeMux()}
	h.mux.Handle("POST /api/v1/attachments", h.authed(h.upload))
	h.mux.Handle("GET /api/v1/attachments/{id}", h.authed(h.download))
	h.mux.Handle("HEAD /api/v1/attachments/{id}", h.authed(h.download))
	h.mux.Handle("/", http.HandlerFunc(h.notRouted)) // JSON 404/405 instead of the mux's text
	return h, nil
}

// Patterns are the prefixes to mount the Handler on in the server's mux.
// They are more specific than the messenger API's "/api/", so they win.
var Patterns = []string{"/api/v1/attachments", "/api/v1/attachments/"}

// ServeHTTP routes a request and logs one access line (no names, no
// contents, no query string).
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	sw := &statusWriter{ResponseWriter: w}
	h.mux.ServeHTTP(sw, r) // sets r.Pattern and the path values
	pattern := r.Pattern
	if pattern == "/" {
		pattern = "unrouted"
	}
	h.log.LogAttrs(r.Context(), slog.LevelInfo, "http request",
		slog.String("method", r.Method), slog.String("route", pattern),
		slog.Int("status", sw.statusOr200()), slog.Int64("bytes", sw.bytes),
		slog.Duration("duration", time.Since(start)), slog.String("user_id", sw.userID))
}

func (h *Handler) notRouted(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/api/v1/attachments" {
		w.Header().Set("Allow", "POST")
		h.writeError(w, r, apiError(codeMethodNotAllowed, "use POST to upload"))
		return
	}
	if id, ok := strings.CutPrefix(r.URL.Path, "/api/v1/attachments/"); ok && id != "" && !strings.Contains(id, "/") {
		w.Header().Set("Allow", "GET, HEAD")
		h.writeError(w, r, apiError(codeMethodNotAllowed, "use GET to download"))
		return
	}
	h.writeError(w, r, apiError(messenger.ENOTFOUND, "no such endpoint"))
}

type actorHandler func(w http.ResponseWriter, r *http.Request, actor messenger.Actor)

// authed verifies the bearer token; anything wrong with it is a 401.
func (h *Handler) authed(next actorHandler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, err := h.cfg.Verifier.Authenticate(r)
		if err != nil {
			h.writeError(w, r, apiError(messenger.EUNAUTHORIZED, authMessage(err)))
			return
		}
		if sw, ok := w.(*statusWriter); ok {
			sw.userID = id.UserID
		}
		next(w, r, messenger.Actor{UserID: id.UserID, Role: messenger.Role(id.Role), Name: id.Name})
	})
}

func authMessage(err error) string {
	switch {
	case errors.Is(err, auth.ErrNoToken):
		return "missing bearer token: send Authorization: Bearer <JWT>"
	case errors.Is(err, auth.ErrMalformed):
		return "malformed Authorization header: want Bearer <JWT>"
	case errors.Is(err, auth.ErrExpired):
		return "token expired"
	case errors.Is(err, auth.ErrNotYetValid):
		return "token not valid yet"
	}
	return "invalid token"
}

// statusWriter records the status for the access log.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
	userID string
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

func (w *statusWriter) statusOr200() int {
	if w.status == 0 {
		return http.StatusOK
	}
	return w.status
}

// Unwrap lets http.ResponseController reach the connection.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(`{"error":{"code":"internal","message":"Internal error."}}`)
	}
	hd := w.Header()
	hd.Set("Content-Type", "application/json; charset=utf-8")
	hd.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}
