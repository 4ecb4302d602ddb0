package messenger

import (
	"context"
	"time"
)

// EQUOTA: the caller holds too many pending (not yet attached) uploads. The
// HTTP edge answers 429: the condition clears once uploads are attached or
// expire.
const EQUOTA = "quota_exceeded"

// UploadQuota bounds what one user may hold in pending uploads. Zero fields
// mean no limit of that kind.
type UploadQuota struct {
	MaxFiles int   // pending uploads
	MaxBytes int64 // sum of their sizes, bytes
}

// UploadTx is an optional capability of the Tx that Store.Write passes (found
// by type assertion): counting a user's pending uploads and inserting one in
// the same transaction, so the quota check and the insert are atomic.
type UploadTx interface {
	// PendingUploads counts ownerID's pending uploads and sums their sizes.
	// Inside Write it serializes concurrent callers for the same owner
	// (SQLite has one writer; PostgreSQL locks the owner's user row).
	PendingUploads(ctx context.Context, ownerID string) (files int, bytes int64, err error)
	// InsertUpload records a pending upload. Errors: ECONFLICT if the id exists.
	InsertUpload(ctx context.Context, a *Attachment) error
}

// AttachmentJanitorStore is an optional capability of Store for the
// attachment janitor.
type AttachmentJanitorStore interface {
	// DeleteAttachmentIf removes the record only while its status is still
	// status, so an upload attached after the janitor listed it survives.
	DeleteAttachmentIf(ctx context.Context, id, status string) (deleted bool, err error)
	// ExistingStorageKeys returns which of keys some attachment record
	// (any status) still references.
	ExistingStorageKeys(ctx context.Context, keys []string) (map[string]bool, error)
}

func (s *Service) uploadCaps() (AttachmentJanitorStore, error) {
	js, ok := s.store.(AttachmentJanitorStore)
	if !ok {
		return nil, Errorf(EINTERNAL, "store does not support attachment cleanup")
	}
	return js, nil
}

func quotaError(q UploadQuota, files int, bytes, adding int64) error {
	if q.MaxFiles > 0 && files+1 > q.MaxFiles {
		return Errorf(EQUOTA, "at most %d uploads may wait to be attached; send or let some expire first", q.MaxFiles)
	}
	if q.MaxBytes > 0 && bytes+adding > q.MaxBytes {
		return Errorf(EQUOTA, "pending uploads may total at most %d bytes; send or let some expire first", q.MaxBytes)
	}
	return nil
}

// CheckUploadQuota reports EQUOTA when the actor could not register even a
// one-byte upload, so an upload over quota is refused before its bytes are
// streamed. RegisterUpload checks again, atomically.
// Errors: EUNAUTHORIZED, EQUOTA.
func (s *Service) CheckUploadQuota(ctx context.Context, actor Actor, q UploadQuota) error {
	if err := s.touch(ctx, actor); err != nil {
		return err
	}
	return s.store.Read(ctx, func(ctx context.Context, tx Tx) error {
		ut, ok := tx.(UploadTx)
		if !ok {
			return Errorf(EINTERNAL, "store does not support uploads")
		}
		files, bytes, err := ut.PendingUploads(ctx, actor.UserID)
		if err != nil {
			return err
		}
		return quotaError(q, files, bytes, 1)
	})
}

// RegisterUpload records a stored upload as the actor's pending attachment.
// The caller fills Name, ContentType, Size, SHA256 and StorageKey; ID,
// OwnerID, CreatedAt and Status are set here. The quota check and the
// insert happen in one transaction. Errors: EUNAUTHORIZED, EINVALID
// (missing fields), EQUOTA.
func (s *Service) RegisterUpload(ctx context.Context, actor Actor, a *Attachment, q UploadQuota) error {
	if err := s.touch(ctx, actor); err != nil {
		return err
	}
	if a.StorageKey == "" || a.Name == "" || a.ContentType == "" || a.Size < 0 {
		return Errorf(EINVALID, "incomplete upload record")
	}
	a.ID, a.OwnerID, a.CreatedAt = newID(), actor.UserID, s.now()
	a.ThreadID, a.MessageID, a.Status = "", "", AttachmentPending
	return s.store.Write(ctx, func(ctx context.Context, tx Tx) error {
		ut, ok := tx.(UploadTx)
		if !ok {
			return Errorf(EINTERNAL, "store does not support uploads")
		}
		files, bytes, err := ut.PendingUploads(ctx, actor.UserID)
		if err != nil {
			return err
		}
		if err := quotaError(q, files, bytes, a.Size); err != nil {
			return err
		}
		return ut.InsertUpload(ctx, a)
	})
}

// ExpiredAttachments lists, for the janitor, pending uploads created before
// pendingBefore and attachments whose message was deleted (status deleted).
func (s *Service) ExpiredAttachments(ctx context.Context, pendingBefore time.Time, limit int) ([]*Attachment, error) {
	return s.store.ListExpiredUploads(ctx, pendingBefore, limit)
}

// ForgetAttachment deletes the record of an attachment the janitor listed,
// unless its status changed since (a pending upload attached meanwhile is
// kept). Attached records are never deleted here. removed reports whether
// the record is gone, so its bytes may be deleted.
func (s *Service) ForgetAttachment(ctx context.Context, a *Attachment) (removed bool, err error) {
	if a.Status != AttachmentPending && a.Status != AttachmentDeleted {
		return false, Errorf(EINVALID, "only pending or deleted attachments are forgotten")
	}
	js, err := s.uploadCaps()
	if err != nil {
		return false, err
	}
	return js.DeleteAttachmentIf(ctx, a.ID, a.Status)
}

// ReferencedStorageKeys returns which of keys an attachment record still
// references, so the janitor deletes only blobs nobody can reach.
func (s *Service) ReferencedStorageKeys(ctx context.Context, keys []string) (map[string]bool, error) {
	js, err := s.uploadCaps()
	if err != nil {
		return nil, err
	}
	return js.ExistingStorageKeys(ctx, keys)
}
