package sqlstore

import (
	"context"
	"database/sql"
	"errors"

	"github.com/parleyhq/parley/internal/messenger"
)

// The attachment lifecycle's optional capabilities (see
// messenger.UploadTx and messenger.AttachmentJanitorStore).
var (
	_ messenger.UploadTx               = (*tx)(nil)
	_ messenger.AttachmentJanitorStore = (*Store)(nil)
)

// PendingUploads implements messenger.UploadTx. On PostgreSQL, inside a
// write, it first locks the owner's user row so that two uploads of one
// user cannot both pass the quota check; SQLite has a single writer.
func (t *tx) PendingUploads(ctx context.Context, ownerID string) (int, int64, error) {
	if t.tx != nil && t.s.d.name == "postgres" {
		var id string
		err := t.queryRow(ctx, `SELECT id FROM users WHERE id = ? FOR UPDATE`, ownerID).Scan(&id)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return 0, 0, err
		}
	}
	var (
		n     int
		bytes int64
	)
	err := t.queryRow(ctx, `SELECT COUNT(*), COALESCE(SUM(size), 0) FROM attachments WHERE owner_id = ? AND status = 'pending'`, ownerID).
		Scan(&n, &bytes)
	return n, bytes, err
}

// InsertUpload implements messenger.UploadTx.
func (t *tx) InsertUpload(ctx context.Context, a *messenger.Attachment) error {
	_, err := t.exec(ctx, `INSERT INTO attachments (id, owner_id, thread_id, message_id, name, content_type, size, sha256, storage_key, status, created_at)
		VALUES (?, ?, ?, '', ?, ?, ?, ?, ?, ?, ?)`, a.ID, a.OwnerID, a.ThreadID, a.Name, a.ContentType, a.Size, a.SHA256, a.StorageKey, a.Status, micros(a.CreatedAt))
	if isUniqueViolation(err) {
		return messenger.Errorf(messenger.ECONFLICT, "attachment id exists")
	}
	return err
}

// DeleteAttachmentIf implements messenger.AttachmentJanitorStore.
func (s *Store) DeleteAttachmentIf(ctx context.Context, id, status string) (bool, error) {
	var deleted bool
	err := s.write(ctx, func(ctx context.Context, t *tx) error {
		res, err := t.exec(ctx, `DELETE FROM attachments WHERE id = ? AND status = ?`, id, status)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		deleted = n > 0
		return err
	})
	return deleted, err
}

// ExistingStorageKeys implements messenger.AttachmentJanitorStore. The
// janitor calls it in batches of a few hundred keys.
func (s *Store) ExistingStorageKeys(ctx context.Context, keys []string) (map[string]bool, error) {
	out := make(map[string]bool, len(keys))
	if len(keys) == 0 {
		return out, nil
	}
	rows, err := s.rdb.QueryContext(ctx, s.rebind(`SELECT storage_key FROM attachments WHERE storage_key IN (`+placeholders(len(keys))+`)`), strArgs(keys)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			return nil, err
		}
		out[k] = true
	}
	return out, rows.Err()
}
