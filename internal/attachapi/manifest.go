package attachapi

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/parleyhq/parley/internal/blob"
	"github.com/parleyhq/parley/internal/upload"
)

// The attachment row records one storage key. An image's thumbnails and
// dimensions live in a small manifest blob next to it, <key>.meta (encrypted
// like every blob on the local store), so no schema change was needed; all
// of an upload's blobs share the row's key as their base (see baseKey).
const manifestSuffix = ".meta"

// maxManifest bounds what is read back: a manifest is a few hundred bytes.
const maxManifest = 64 << 10

type manifest struct {
	V          int         `json:"v"`
	Width      int         `json:"width,omitempty"`
	Height     int         `json:"height,omitempty"`
	Thumbnails []thumbInfo `json:"thumbnails"`
}

// thumbInfo is one thumbnail. Slot is the configured longest side it was
// made for (160, 480): the value of ?thumb=. Images smaller than a slot get
// no separate copy for it (the Processor collapses equal sizes).
type thumbInfo struct {
	Slot        int    `json:"slot"`
	Key         string `json:"key"`
	Width       int    `json:"width"`
	Height      int    `json:"height"`
	ContentType string `json:"contentType"`
	Size        int64  `json:"size"`
}

func manifestKey(key string) string { return key + manifestSuffix }

// newManifest pairs the Processor's thumbnails, in ascending size, with the
// configured slots, in ascending order.
func newManifest(a *upload.Attachment, slots []int) *manifest {
	m := &manifest{V: 1, Width: a.Width, Height: a.Height, Thumbnails: []thumbInfo{}}
	for i, t := range a.Thumbnails {
		slot := max(t.Width, t.Height)
		if i < len(slots) {
			slot = slots[i]
		}
		m.Thumbnails = append(m.Thumbnails, thumbInfo{Slot: slot, Key: t.Key, Width: t.Width, Height: t.Height, ContentType: t.ContentType, Size: t.Size})
	}
	return m
}

func putManifest(ctx context.Context, s blob.Store, key string, m *manifest) error {
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	_, err = s.Put(ctx, manifestKey(key), bytes.NewReader(b), int64(len(b)))
	return err
}

// readManifest returns the manifest of key; blob.ErrNotFound when the
// upload has none (not an image, or no thumbnails).
func readManifest(ctx context.Context, s blob.Store, key string) (*manifest, error) {
	rc, err := s.Open(ctx, manifestKey(key), 0, -1)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, maxManifest))
	if err != nil {
		return nil, err
	}
	var m manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("attachapi: manifest of %s: %w", key, err)
	}
	for _, t := range m.Thumbnails {
		// The manifest names keys to read and delete: only our own.
		if !strings.HasPrefix(t.Key, key+".") || blob.ValidKey(t.Key) != nil {
			return nil, fmt.Errorf("attachapi: manifest of %s names a foreign key", key)
		}
	}
	return &m, nil
}

// pick returns the thumbnail for slot: the exact one, or, when the image
// was smaller than slot, the largest there is (which is then the image at
// its own size). ok is false for a slot no thumbnail was configured for.
func (m *manifest) pick(slot int) (thumbInfo, bool) {
	if len(m.Thumbnails) == 0 {
		return thumbInfo{}, false
	}
	for _, t := range m.Thumbnails {
		if t.Slot == slot {
			return t, true
		}
	}
	last := m.Thumbnails[len(m.Thumbnails)-1]
	if slot > last.Slot && max(last.Width, last.Height) < last.Slot {
		return last, true
	}
	return thumbInfo{}, false
}

// baseKey maps any blob of an upload (file, thumbnail, manifest) to the key
// its row records: the last segment up to its first '.'. Upload keys
// themselves contain no '.' (att/<2 hex>/<32 hex>).
func baseKey(key string) string {
	slash := strings.LastIndexByte(key, '/')
	if dot := strings.IndexByte(key[slash+1:], '.'); dot >= 0 {
		return key[:slash+1+dot]
	}
	return key
}
