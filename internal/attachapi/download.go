package attachapi

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/parleyhq/parley/internal/blob"
	"github.com/parleyhq/parley/internal/httpx"
	"github.com/parleyhq/parley/internal/messenger"
	"github.com/parleyhq/parley/internal/upload"
)

// served is what one download sends: the file or one of its thumbnails.
type served struct {
	key, contentType, name, etag string
	size                         int64
}

// download handles GET (and HEAD) /api/v1/attachments/{id}[?thumb=N].
func (h *Handler) download(w http.ResponseWriter, r *http.Request, actor messenger.Actor) {
	ctx := r.Context()
	a, err := h.svc.AttachmentForDownload(ctx, actor, r.PathValue("id"))
	if err != nil {
		h.edge.WriteError(w, r, err)
		return
	}
	s := served{key: a.StorageKey, contentType: a.ContentType, name: a.Name, etag: `"` + a.SHA256 + `"`, size: a.Size}
	// Parsed strictly: URL.Query drops a malformed pair, which would turn
	// a bad ?thumb= into a download of the whole file.
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		h.edge.WriteError(w, r, httpx.NewError(messenger.EINVALID, "malformed query string"))
		return
	}
	if q.Has("thumb") {
		if s, err = h.thumbnail(r, a, q.Get("thumb")); err != nil {
			h.edge.WriteError(w, r, err)
			return
		}
	}

	hd := w.Header()
	// Whatever the bytes are, a browser must neither sniff nor run them:
	// the type is the sniffed one from upload, scripts are sandboxed away,
	// and everything but images is a download, never a page.
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Content-Security-Policy", "sandbox; default-src 'none'")
	hd.Set("Cache-Control", "private, no-store")
	hd.Set("Referrer-Policy", "no-referrer")

	if h.cfg.PresignedLinks {
		if p, ok := h.store.(blob.Presigner); ok {
			u, err := p.PresignGet(ctx, s.key, h.cfg.PresignTTL, s.name, s.contentType)
			if err != nil {
				h.edge.WriteError(w, r, err)
				return
			}
			http.Redirect(w, r, u, http.StatusFound)
			return
		}
	}

	// Stat first so a missing or short blob is a clean error, not a 200
	// whose body breaks off.
	info, err := h.store.Stat(ctx, s.key)
	if err == nil && info.Size != s.size {
		err = fmt.Errorf("attachapi: blob %s holds %d bytes, its row says %d", s.key, info.Size, s.size)
	}
	if err != nil {
		h.edge.WriteError(w, r, fmt.Errorf("attachapi: attachment %s: %w", a.ID, err))
		return
	}
	hd.Set("Content-Type", s.contentType)
	hd.Set("Content-Disposition", contentDisposition(s.contentType, s.name))
	hd.Set("ETag", s.etag)
	rs := &readErr{ReadSeeker: blob.NewReadSeeker(ctx, h.store, s.key, s.size)}
	defer rs.Close()
	http.ServeContent(w, r, "", a.CreatedAt, rs)
	if rs.err != nil && ctx.Err() == nil {
		// Headers are gone; the client sees a short body. ErrCorrupt here
		// means tampered storage and deserves attention.
		h.log.LogAttrs(ctx, slog.LevelError, "attachment read failed mid-response",
			slog.String("attachment_id", a.ID), slog.Any("err", rs.err))
	}
}

// thumbnail resolves ?thumb=N for an image attachment.
func (h *Handler) thumbnail(r *http.Request, a *messenger.Attachment, v string) (served, error) {
	slot, err := strconv.Atoi(v)
	if err != nil || !slices.Contains(h.cfg.ThumbnailSizes, slot) {
		return served{}, httpx.NewError(messenger.EINVALID, fmt.Sprintf("thumb must be one of %v", h.cfg.ThumbnailSizes))
	}
	none := httpx.NewError(messenger.ENOTFOUND, "this attachment has no thumbnail")
	if !upload.IsImage(a.ContentType) {
		return served{}, none
	}
	m, err := readManifest(r.Context(), h.store, a.StorageKey)
	if errors.Is(err, blob.ErrNotFound) {
		return served{}, none
	} else if err != nil {
		return served{}, err
	}
	t, ok := m.pick(slot)
	if !ok {
		return served{}, none
	}
	return served{key: t.Key, contentType: t.ContentType, size: t.Size,
		name: thumbName(a.Name, t.ContentType, t.Slot), etag: fmt.Sprintf(`"%s-t%d"`, a.SHA256, t.Slot)}, nil
}

// thumbName is "photo.t160.jpg" for photo.png's 160 px JPEG preview.
func thumbName(name, contentType string, slot int) string {
	ext := ".jpg"
	if contentType == upload.TypePNG {
		ext = ".png"
	}
	return strings.TrimSuffix(name, path.Ext(name)) + ".t" + strconv.Itoa(slot) + ext
}

// contentDisposition is inline for images (the chat shows them) and
// attachment for everything else, with the name in RFC 8187 form so any
// UTF-8 name survives and nothing in it can break out of the header.
func contentDisposition(contentType, name string) string {
	kind := "attachment"
	if upload.IsImage(contentType) {
		kind = "inline"
	}
	return kind + "; filename*=UTF-8''" + encodeRFC8187(name)
}

// encodeRFC8187 percent-encodes everything but attr-char (RFC 8187 §3.2.1).
func encodeRFC8187(s string) string {
	const hexDigits = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("!#$&+-.^_`|~", c) >= 0 {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexDigits[c>>4])
		b.WriteByte(hexDigits[c&15])
	}
	return b.String()
}

// readErr remembers the first read error, which http.ServeContent drops.
type readErr struct {
	*blob.ReadSeeker
	err error
}

func (r *readErr) Read(p []byte) (int, error) {
	n, err := r.ReadSeeker.Read(p)
	if err != nil && err != io.EOF && r.err == nil {
		r.err = err
	}
	return n, err
}
