package messenger

import (
	"context"
	"time"
)

// Store is the persistence the messenger needs. Implementations (package
// sqlstore) hold no business rules: they store and fetch, and enforce only
// uniqueness and atomicity. All methods are safe for concurrent use.
type Store interface {
	// Write runs fn in a read-write transaction and returns after it
	// commits. Concurrent Writes may share one database transaction (group
	// commit); each fn then runs inside its own savepoint, and an error from
	// fn rolls back only fn's work and is returned to its caller alone. fn
	// may run more than once (after a failed batch it is retried alone), so
	// it must set its outputs afresh on every run.
	Write(ctx context.Context, fn func(ctx context.Context, tx Tx) error) error
	// Read runs fn outside any write transaction; each call sees committed
	// data.
	Read(ctx context.Context, fn func(ctx context.Context, tx Tx) error) error

	// LeaseOutbox makes every outbox row written through this Store from
	// now on leased to owner until lease after its insert, and hands the
	// row's entries to committed right after the commit that wrote them
	// (per thread in commit order; committed must not block). The writer
	// publishes what it committed without claiming it first, and a row
	// whose writer died is claimed by another relay when its lease ends.
	// Without a call, rows are written unleased for ClaimOutbox to find.
	LeaseOutbox(owner string, lease time.Duration, committed func([]OutboxEntry))
	// ClaimOutbox leases to owner, until now+lease, up to limit outbox rows
	// that no one holds — written unleased, or whose lease ended before
	// now — oldest first, and returns their entries in order. Entries
	// written by one InsertOutbox call (or one group-commit batch) share
	// an ID (one row) and are completed together. Rows being claimed by
	// another relay are skipped (FOR UPDATE SKIP LOCKED on PostgreSQL).
	ClaimOutbox(ctx context.Context, owner string, now time.Time, lease time.Duration, limit int) ([]OutboxEntry, error)
	// CompleteOutbox removes published rows still leased by owner.
	CompleteOutbox(ctx context.Context, owner string, ids []int64) error

	// ClaimNotifications leases up to limit pending notifications due by now.
	ClaimNotifications(ctx context.Context, owner string, now time.Time, lease time.Duration, limit int) ([]Notification, error)
	// CompleteNotification removes notification id if its Seq is still seq
	// (a newer message since keeps it pending).
	CompleteNotification(ctx context.Context, id, seq int64) error
	// RetryNotification records a failed attempt: attempts, the next due
	// time, and failed=true to stop retrying (the row is kept).
	RetryNotification(ctx context.Context, id int64, attempts int, next time.Time, failed bool) error

	// CreateUpload records a pending upload (a.Status is set to pending).
	// Errors: ECONFLICT if the id exists.
	CreateUpload(ctx context.Context, a *Attachment) error
	// GetAttachment returns an attachment record. Errors: ENOTFOUND.
	GetAttachment(ctx context.Context, id string) (*Attachment, error)
	// ListExpiredUploads returns pending uploads created before before, and
	// attachments whose message was deleted, for blob cleanup.
	ListExpiredUploads(ctx context.Context, before time.Time, limit int) ([]*Attachment, error)
	// DeleteAttachment removes the record (after its bytes are removed).
	DeleteAttachment(ctx context.Context, id string) error
	// PendingUploadBytes sums the sizes of owner's pending uploads (quota).
	PendingUploadBytes(ctx context.Context, ownerID string) (int64, error)

	// Close closes the database. Idempotent.
	Close() error
}

// Tx is one unit of work inside Store.Write or Store.Read.
type Tx interface {
	// UpsertUser inserts or updates id, role, name.
	UpsertUser(ctx context.Context, u User) error
	// GetUsers returns the known users among ids (unknown ids are omitted).
	GetUsers(ctx context.Context, ids []string) ([]User, error)
	// SetLastSeen sets a known user's last-seen time.
	SetLastSeen(ctx context.Context, userID string, at time.Time) error

	// InsertThread stores a new thread (ID, Subject, CreatedAt).
	InsertThread(ctx context.Context, t *Thread) error
	// InsertParticipant adds userID to threadID with read marker 0.
	InsertParticipant(ctx context.Context, threadID, userID string) error
	// GetThread returns a thread without participants. Errors: ENOTFOUND.
	GetThread(ctx context.Context, threadID string) (*Thread, error)
	// GetReceipt returns userID's read marker. Errors: ENOTFOUND when
	// userID is not a participant (or the thread does not exist).
	GetReceipt(ctx context.Context, threadID, userID string) (*Receipt, error)
	// ListParticipants returns the participants with user data and ReadSeq.
	ListParticipants(ctx context.Context, threadID string) ([]Participant, error)
	// ListUserThreads returns userID's threads ordered by (LastActivity, ID)
	// descending, strictly below cursor (nil = from the top), with ReadSeq.
	ListUserThreads(ctx context.Context, userID string, cursor *ThreadCursor, limit int) ([]*Thread, error)
	// SharesThread reports whether a and b are both in some thread.
	SharesThread(ctx context.Context, a, b string) (bool, error)
	// Partners returns the distinct ids sharing a thread with userID.
	Partners(ctx context.Context, userID string) ([]string, error)

	// NextSeq increments and returns the thread's last seq and sets its last
	// activity; on PostgreSQL this locks the thread row until commit.
	// Errors: ENOTFOUND.
	NextSeq(ctx context.Context, threadID string, at time.Time) (int64, error)
	// InsertMessage stores m; inserted=false when (ThreadID, SenderID,
	// ClientID) already exists (nothing is written).
	InsertMessage(ctx context.Context, m *Message) (inserted bool, err error)
	// GetMessage returns a message of a thread with its attachments.
	// Errors: ENOTFOUND.
	GetMessage(ctx context.Context, threadID, messageID string) (*Message, error)
	// GetMessageByClientID finds a message by its idempotency key.
	// Errors: ENOTFOUND.
	GetMessageByClientID(ctx context.Context, threadID, senderID, clientID string) (*Message, error)
	// PriorSend is the check before a send: it returns the message
	// senderID already sent into threadID with clientID, or nil if there is
	// none. Errors: ENOTFOUND when senderID is not a participant (or the
	// thread does not exist). A Store may answer concurrent checks together.
	PriorSend(ctx context.Context, threadID, senderID, clientID string) (*Message, error)
	// GetMessagesByID returns the messages with the given ids (any thread).
	GetMessagesByID(ctx context.Context, ids []string) ([]*Message, error)
	// UpdateMessage writes Content, EditedAt and DeletedAt of m.
	UpdateMessage(ctx context.Context, m *Message) error
	// ListMessages returns up to limit messages of a thread with
	// after < seq < before (0 = unbounded): the lowest seqs when ascending,
	// the highest when not; always returned in ascending order.
	ListMessages(ctx context.Context, threadID string, after, before int64, ascending bool, limit int) ([]*Message, error)
	// CountUnread counts messages with seq > afterSeq not sent by userID and
	// not deleted.
	CountUnread(ctx context.Context, threadID, userID string, afterSeq int64) (int64, error)
	// RecordSend accounts for a new message: the sender's marker moves to
	// seq (sending counts as reading) and their unread count to 0; everyone
	// else's unread count grows by one. It returns unread counts by user id.
	RecordSend(ctx context.Context, threadID, senderID string, seq int64, at time.Time) (map[string]int64, error)
	// RecordDelete accounts for deleting a message: participants other than
	// its sender whose marker is below seq have one unread message fewer.
	RecordDelete(ctx context.Context, threadID, senderID string, seq int64) error
	// AdvanceRead sets userID's marker to seq if seq is higher and
	// recomputes their unread count; changed reports whether it moved.
	AdvanceRead(ctx context.Context, threadID, userID string, seq int64, at time.Time) (changed bool, err error)

	// AttachToMessage links pending uploads owned by ownerID (and not bound
	// to another thread) to messageID. Errors: EINVALID if any id is not
	// such an upload; nothing is linked then.
	AttachToMessage(ctx context.Context, ids []string, ownerID, threadID, messageID string) ([]AttachmentRef, error)
	// DetachMessageAttachments marks messageID's attachments deleted.
	DetachMessageAttachments(ctx context.Context, messageID string) error

	// InsertChange appends to the change feed (ID/Pos assigned by the store).
	InsertChange(ctx context.Context, c ChangeRecord) error
	// ListChanges returns changes in threads userID participates in with
	// position after pos, in commit order, only up to a position below which
	// no transaction can still commit (no gaps).
	ListChanges(ctx context.Context, userID string, after ChangePos, limit int) ([]ChangeRecord, error)
	// ChangeHead returns a position at or after every change ListChanges
	// can already return and below every change still to be committed: a
	// cursor that starts the feed "now" without reading it.
	ChangeHead(ctx context.Context) (ChangePos, error)

	// InsertOutbox appends entries to publish after commit.
	InsertOutbox(ctx context.Context, entries []OutboxEntry) error
	// UpsertNotification schedules an offline notification for (UserID,
	// ThreadID); if one is pending it keeps its DueAt and takes the newer
	// MessageID and Seq.
	UpsertNotification(ctx context.Context, n Notification) error
	// InsertAudit records an action (ids only, never content).
	InsertAudit(ctx context.Context, a AuditEntry) error
}

type writeKeyCtx struct{}

// WithWriteKey marks ctx with the rows a Write is about (a thread id).
func WithWriteKey(ctx context.Context, key string) context.Context {
	return context.WithValue(ctx, writeKeyCtx{}, key)
}

// WriteKey returns the key set by WithWriteKey, or "". A Store that commits
// several batches in parallel sends writes with one key to one committer,
// so its own batches never wait on (or deadlock with) each other for a
// thread's row lock; a Store may also read the thread's counters for a
// whole batch at once, so the key must be the id of the thread whose
// counters the write uses.
func WriteKey(ctx context.Context) string {
	k, _ := ctx.Value(writeKeyCtx{}).(string)
	return k
}

// ThreadCursor is a position in a thread list.
type ThreadCursor struct {
	LastActivity time.Time
	ID           string
}

// ChangePos orders the change feed: (TxOrder, ID). On SQLite TxOrder is 0
// (one writer commits in id order); on PostgreSQL it is the writing
// transaction's id, so that positions grow in an order where nothing can
// later commit below a position already handed out.
type ChangePos struct {
	TxOrder int64
	ID      int64
}

// ChangeRecord is a stored change. Message changes reference the message;
// read changes carry the receipt values.
type ChangeRecord struct {
	Pos       ChangePos
	Kind      string
	ThreadID  string
	MessageID string    // message kinds
	UserID    string    // message-read: whose marker
	Seq       int64     // message-read: the marker
	At        time.Time // when the change happened
}

// OutboxEntry is an event to publish after commit: Channels, Event and
// Data are stored; Held is not.
type OutboxEntry struct {
	ID       int64 // the outbox row; shared by the entries of one InsertOutbox
	Channels []string
	Event    string
	Data     []byte
	// Held is what the writing process keeps for the relay beside the
	// stored fields (see outbox.go): a Store hands it over with the entry
	// after the commit (LeaseOutbox) and never stores it, so a claimed
	// entry has none.
	Held any
}

// Notification is a pending offline notification.
type Notification struct {
	ID        int64
	UserID    string
	ThreadID  string
	MessageID string
	Seq       int64
	DueAt     time.Time
	Attempts  int
}

// AuditEntry records an action done by a service actor.
type AuditEntry struct {
	ActorID   string
	Action    string // thread.create, message.send
	ThreadID  string
	MessageID string
	At        time.Time
}
