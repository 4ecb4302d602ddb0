package messenger

import (
	"context"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"
)

// Presence reports whether a user has at least one live connection anywhere
// (any device, any node). The real-time engine supplies it.
type Presence interface {
	Online(userID string) bool
}

// Publisher delivers an event to real-time channels. The relay calls it only
// for committed outbox entries, after commit.
type Publisher interface {
	Publish(ctx context.Context, channels []string, event string, data []byte) error
}

// Config configures a Service. Zero values take the documented defaults.
type Config struct {
	// MaxContentRunes limits message text. Default 4000.
	MaxContentRunes int
	// MaxAttachments limits attachment ids per message. Default 10.
	MaxAttachments int
	// MaxParticipants limits participants per thread. Default 50.
	MaxParticipants int

	// Publisher receives outbox entries; nil means the relay does not run
	// and entries stay in the outbox until a relay with a publisher runs.
	Publisher Publisher
	// Presence tells the notifier and GetThread who is online; nil: nobody.
	Presence Presence

	// RelayPoll is how often the relay looks for entries it was not told
	// about (other nodes', expired leases). Default 500ms.
	RelayPoll time.Duration
	// RelayLease is how long a claimed outbox entry stays claimed before
	// another relay may take it over. Default 10s.
	RelayLease time.Duration
	// PublishTimeout bounds publishing a group of up to 256 outbox events;
	// an event whose deadline ended is published again. Default 10 s.
	PublishTimeout time.Duration

	// WebhookURL enables offline notifications when set.
	WebhookURL string
	// WebhookSecret keys the HMAC-SHA256 body signature (X-Parley-Signature).
	WebhookSecret []byte
	// NotifyDelay is how long a message must stay unread by an offline
	// participant before the webhook fires. Default 60s.
	NotifyDelay time.Duration
	// NotifyPoll is how often due notifications are looked for. Default 1s.
	NotifyPoll time.Duration
	// NotifyMaxAttempts before a notification is marked failed (kept in the
	// database, logged and counted). Default 10.
	NotifyMaxAttempts int
	// NotifyRetryBase is the first retry delay after a failed webhook; it
	// doubles per attempt up to NotifyRetryMax. Defaults 1s and 10m.
	NotifyRetryBase time.Duration
	NotifyRetryMax  time.Duration
	// HTTPClient sends webhooks. Default: a client with a 10s timeout.
	HTTPClient *http.Client

	// NodeID names this process in leases. Default: random.
	NodeID string
	// Logger receives structured logs; never message content. Default slog.Default().
	Logger *slog.Logger
	// Now returns the current time. Default time.Now.
	Now func() time.Time
}

// Stats are counters since Open, for metrics.
type Stats struct {
	Published       int64 // events published from the outbox (a send counts once per event)
	PublishErrors   int64
	OutboxDropped   int64 // stored entries that could not be decoded (logged, not published)
	WebhooksSent    int64
	WebhookErrors   int64 // failed attempts (each retried)
	WebhooksFailed  int64 // gave up after NotifyMaxAttempts (kept in DB)
	WebhooksSkipped int64 // read or online by the due time
}

// NewThread is the input of CreateThread.
type NewThread struct {
	Subject string
	// Participants other than the caller. A patient or provider caller is
	// added automatically and may only name users the messenger has seen
	// (their role is taken from the store). A service caller names everyone,
	// with Role and Name.
	Participants []ParticipantInput
}

// ParticipantInput names a participant of a new thread.
type ParticipantInput struct {
	ID   string
	Role Role   // required for unknown users (service callers only)
	Name string // optional
}

// NewMessage is the input of SendMessage.
type NewMessage struct {
	ClientID      string // required, client-generated, ≤128 bytes
	Content       string // required unless AttachmentIDs is non-empty
	AttachmentIDs []string
	// OnBehalfOf is the participant a service caller posts for; it must be
	// empty for other callers.
	OnBehalfOf string
}

// ThreadPage is one page of the caller's threads, newest activity first.
type ThreadPage struct {
	Threads    []*Thread `json:"threads"`
	NextCursor string    `json:"nextCursor,omitempty"` // "" when no more
}

// MessageQuery selects history. Before and After are exclusive seq bounds
// (0 = unbounded). Without After the page holds the newest messages below
// Before; with After it holds the oldest above After. Limit 1..100, default 50.
type MessageQuery struct {
	Before int64
	After  int64
	Limit  int
}

// MessagePage is one page of history, always in ascending seq order.
type MessagePage struct {
	Messages []*Message `json:"messages"`
	HasMore  bool       `json:"hasMore"` // more exist in the direction asked
}

// SyncPage is the result of Sync.
type SyncPage struct {
	Changes []Change `json:"changes"`
	Cursor  string   `json:"cursor"`  // pass as the next since
	HasMore bool     `json:"hasMore"` // call again at once
}

// Service is the messenger: the business rules on top of a Store. It owns
// the outbox relay and the offline notifier, started by Open.
type Service struct {
	store Store
	cfg   Config
	log   *slog.Logger
	now   func() time.Time

	life    lifecycle
	users   userCache
	waiters *waiters
	relay   atomic.Pointer[relay]
	notify  *notifier
	stats   counters
}

// NewService returns a Service on store. Call Open to start the relay and
// notifier, Close to stop them.
func NewService(store Store, cfg Config) *Service { return newService(store, cfg) }

// Open starts the outbox relay (if a Publisher is configured) and the offline
// notifier (if a WebhookURL is configured). It returns at once.
func (s *Service) Open() error { return s.open() }

// Close stops the relay and notifier and waits for them. Idempotent. It does
// not close the Store.
func (s *Service) Close() error { return s.close() }

// Stats returns counters for metrics.
func (s *Service) Stats() Stats { return s.stats.snapshot() }

// CreateThread creates a thread with the caller (unless a service) and the
// given participants. Errors: EINVALID (bad ids, missing patient or provider,
// unknown participant named by a non-service caller, duplicates), ETOOLARGE
// (too many participants), EFORBIDDEN (a patient opening a thread without a
// provider is EINVALID; unknown roles are EFORBIDDEN).
func (s *Service) CreateThread(ctx context.Context, actor Actor, in NewThread) (*Thread, error) {
	return s.createThread(ctx, actor, in)
}

// GetThread returns a thread with its participants (presence, last seen,
// read markers), last message and the caller's unread count.
// Errors: ENOTFOUND when it does not exist or the caller is not a participant.
func (s *Service) GetThread(ctx context.Context, actor Actor, threadID string) (*Thread, error) {
	return s.getThread(ctx, actor, threadID)
}

// ListThreads returns the caller's threads, newest activity first.
// Errors: EINVALID (malformed cursor, limit out of 1..100; 0 means 50).
func (s *Service) ListThreads(ctx context.Context, actor Actor, cursor string, limit int) (*ThreadPage, error) {
	return s.listThreads(ctx, actor, cursor, limit)
}

// SendMessage stores a message and returns it after commit. A retry with the
// same (thread, sender, ClientID) returns the original and duplicate=true.
// Sending marks the thread read up to the new message for the sender.
// Errors: ENOTFOUND (thread missing or caller not a participant), EINVALID
// (empty content, missing clientId, unusable attachment id, OnBehalfOf misuse),
// ETOOLARGE (content over MaxContentRunes, too many attachments).
func (s *Service) SendMessage(ctx context.Context, actor Actor, threadID string, in NewMessage) (msg *Message, duplicate bool, err error) {
	return s.sendMessage(ctx, actor, threadID, in)
}

// ListMessages returns history by seq cursors.
// Errors: ENOTFOUND (not a participant), EINVALID (bad bounds or limit).
func (s *Service) ListMessages(ctx context.Context, actor Actor, threadID string, q MessageQuery) (*MessagePage, error) {
	return s.listMessages(ctx, actor, threadID, q)
}

// EditMessage replaces the text of the caller's own message.
// Errors: ENOTFOUND (thread or message not visible), EFORBIDDEN (not the
// sender), ECONFLICT (message deleted), EINVALID/ETOOLARGE (content).
func (s *Service) EditMessage(ctx context.Context, actor Actor, threadID, messageID, content string) (*Message, error) {
	return s.editMessage(ctx, actor, threadID, messageID, content)
}

// DeleteMessage soft-deletes the caller's own message: content and
// attachment refs are removed, DeletedAt set. Deleting twice is a no-op that
// returns the deleted message. Errors: ENOTFOUND, EFORBIDDEN (not the sender).
func (s *Service) DeleteMessage(ctx context.Context, actor Actor, threadID, messageID string) (*Message, error) {
	return s.deleteMessage(ctx, actor, threadID, messageID)
}

// MarkRead moves the caller's read marker forward to seq (never back; a
// lower seq returns the current receipt unchanged). seq above the thread's
// last seq is clamped. Errors: ENOTFOUND, EINVALID (seq < 0).
func (s *Service) MarkRead(ctx context.Context, actor Actor, threadID string, seq int64) (*Receipt, error) {
	return s.markRead(ctx, actor, threadID, seq)
}

// Sync returns what changed for the caller after cursor ("" = from the
// beginning; SyncNow = nothing, only the cursor of the feed's head): new,
// edited and deleted messages, read markers, new threads. Following Cursor
// gives every change after it, in commit order; on PostgreSQL a head
// cursor may repeat changes committed just before it (clients dedupe).
// Errors: EINVALID (malformed cursor, limit out of 0..500; 0 means 100).
func (s *Service) Sync(ctx context.Context, actor Actor, cursor string, limit int) (*SyncPage, error) {
	return s.sync(ctx, actor, cursor, limit)
}

// Wait blocks until the user may have changes after cursor or ctx ends. It
// returns nil when Sync should be called, ctx.Err() on timeout/cancel, and
// EINVALID for a malformed cursor. Woken by this process's commits, and by
// polling for other nodes' commits.
func (s *Service) Wait(ctx context.Context, userID, cursor string) error {
	return s.wait(ctx, userID, cursor)
}

// UserWentOffline records lastSeen when the user's last connection closed.
// Unknown users are ignored.
func (s *Service) UserWentOffline(ctx context.Context, userID string, at time.Time) error {
	return s.userWentOffline(ctx, userID, at)
}

// IsParticipant reports whether userID is in thread threadID (false for a
// missing thread). For channel authorization of private-thread-{id}.
func (s *Service) IsParticipant(ctx context.Context, userID, threadID string) (bool, error) {
	return s.isParticipant(ctx, userID, threadID)
}

// SharesThread reports whether users a and b are together in some thread
// (true when a == b). For presence-user-{id} channel authorization.
func (s *Service) SharesThread(ctx context.Context, a, b string) (bool, error) {
	return s.sharesThread(ctx, a, b)
}

// Partners returns the ids of everyone who shares a thread with userID
// (sorted, without userID), e.g. for the pusher:signin watchlist.
func (s *Service) Partners(ctx context.Context, userID string) ([]string, error) {
	return s.partners(ctx, userID)
}

// GetUser returns a user the messenger has seen. Errors: ENOTFOUND.
func (s *Service) GetUser(ctx context.Context, userID string) (*User, error) {
	return s.getUser(ctx, userID)
}

// Touch records the actor as seen (upsert of id, role, name). Every other
// method does this itself; the HTTP layer may call it for endpoints that do
// not reach the messenger (e.g. channel auth). Errors: EUNAUTHORIZED (empty
// id or unknown role).
func (s *Service) Touch(ctx context.Context, actor Actor) error {
	return s.touch(ctx, actor)
}

// AttachmentForDownload returns an attachment the actor may read: their own
// upload, or one attached to a message in a thread they participate in.
// Errors: ENOTFOUND otherwise.
func (s *Service) AttachmentForDownload(ctx context.Context, actor Actor, attachmentID string) (*Attachment, error) {
	return s.attachmentForDownload(ctx, actor, attachmentID)
}
