package attachapi

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/parleyhq/parley/internal/messenger"
)

// attachmentJSON is the upload response: the id to send with a message and
// what the client may show before sending. Never a storage key or URL.
type attachmentJSON struct {
	ID          string      `json:"id"`
	Name        string      `json:"name"`
	ContentType string      `json:"contentType"`
	Size        int64       `json:"size"`
	SHA256      string      `json:"sha256"`
	Width       int         `json:"width,omitempty"`
	Height      int         `json:"height,omitempty"`
	Thumbnails  []thumbJSON `json:"thumbnails"`
	CreatedAt   time.Time   `json:"createdAt"`
}

// thumbJSON is one preview; Size is the value for ?thumb=.
type thumbJSON struct {
	Size   int `json:"size"`
	Width  int `json:"width"`
	Height int `json:"height"`
}

// upload handles POST /api/v1/attachments.
func (h *Handler) upload(w http.ResponseWriter, r *http.Request, actor messenger.Actor) {
	ctx := r.Context()
	// Refuse an upload over quota before streaming its bytes anywhere.
	if err := h.svc.CheckUploadQuota(ctx, actor, h.cfg.Quota); err != nil {
		h.edge.WriteError(w, r, err)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, h.proc.MaxBytes()+multipartSlack)
	a, err := h.proc.ProcessRequest(r, "file")
	if err != nil {
		h.edge.WriteError(w, r, uploadError(err))
		return
	}
	// From here every failure must delete what Process stored; the client
	// may be gone, so cleanup ignores its cancellation.
	stored := a.Keys()
	cleanup := func() {
		ctx := context.WithoutCancel(ctx)
		for _, k := range stored {
			if err := h.store.Delete(ctx, k); err != nil {
				h.log.WarnContext(ctx, "attachapi: cleanup of a refused upload", "key", k, "err", err)
			}
		}
	}
	m := newManifest(a, h.cfg.ThumbnailSizes)
	if len(m.Thumbnails) > 0 {
		stored = append(stored, manifestKey(a.Key))
		if err := putManifest(ctx, h.store, a.Key, m); err != nil {
			cleanup()
			h.edge.WriteError(w, r, err)
			return
		}
	}
	// The row comes last: only now is every blob complete, so a crash
	// before this line leaves nothing a client can see.
	row := &messenger.Attachment{Name: a.Name, ContentType: a.ContentType, Size: a.Size, SHA256: a.SHA256, StorageKey: a.Key}
	if err := h.svc.RegisterUpload(ctx, actor, row, h.cfg.Quota); err != nil {
		cleanup()
		h.edge.WriteError(w, r, err)
		return
	}
	h.log.LogAttrs(ctx, slog.LevelInfo, "attachment uploaded", slog.String("attachment_id", row.ID),
		slog.String("user_id", actor.UserID), slog.String("content_type", row.ContentType), slog.Int64("size", row.Size))
	h.edge.WriteJSON(w, r, http.StatusCreated, responseFor(row, m))
}

func responseFor(row *messenger.Attachment, m *manifest) attachmentJSON {
	out := attachmentJSON{ID: row.ID, Name: row.Name, ContentType: row.ContentType, Size: row.Size,
		SHA256: row.SHA256, Width: m.Width, Height: m.Height, Thumbnails: []thumbJSON{}, CreatedAt: row.CreatedAt}
	for _, t := range m.Thumbnails {
		out.Thumbnails = append(out.Thumbnails, thumbJSON{Size: t.Slot, Width: t.Width, Height: t.Height})
	}
	return out
}
