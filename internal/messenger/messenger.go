package messenger

import "time"

// Role is what a user is in the messenger.
type Role string

// Roles carried by an Actor. A service actor is the host application's
// backend: it may create threads for anyone and post on a participant's
// behalf, and each such action is written to the audit log.
const (
	RolePatient  Role = "patient"
	RoleProvider Role = "provider"
	RoleService  Role = "service"
)

// Valid reports whether r is a known role.
func (r Role) Valid() bool { return r == RolePatient || r == RoleProvider || r == RoleService }

// Actor is the verified caller of a request (the HTTP layer verifies it).
type Actor struct {
	UserID string
	Role   Role
	Name   string
}

// User is someone the messenger has seen. Users are recorded on first sight.
type User struct {
	ID       string     `json:"id"`
	Role     Role       `json:"role"`
	Name     string     `json:"name"`
	LastSeen *time.Time `json:"lastSeen,omitempty"` // when their last connection closed
}

// Participant is a user in a thread with their presence and read marker.
type Participant struct {
	User
	Online  bool  `json:"online"`
	ReadSeq int64 `json:"readSeq"`
}

// Thread is a conversation between at least one patient and one provider.
// Participants are fixed when the thread is created.
type Thread struct {
	ID           string        `json:"id"`
	Subject      string        `json:"subject,omitempty"`
	CreatedAt    time.Time     `json:"createdAt"`
	LastActivity time.Time     `json:"lastActivity"`
	LastSeq      int64         `json:"lastSeq"`
	Participants []Participant `json:"participants"`
	LastMessage  *Message      `json:"lastMessage,omitempty"`
	Unread       int64         `json:"unread"`  // for the caller
	ReadSeq      int64         `json:"readSeq"` // the caller's read marker
}

// Message is one message in a thread. Seq is gapless per thread. A deleted
// message keeps its id and seq; content and attachments are removed.
type Message struct {
	ID          string          `json:"id"`
	ThreadID    string          `json:"threadId"`
	Seq         int64           `json:"seq"`
	SenderID    string          `json:"senderId"`
	Content     string          `json:"content"`
	ClientID    string          `json:"clientId"`
	CreatedAt   time.Time       `json:"createdAt"`
	EditedAt    *time.Time      `json:"editedAt,omitempty"`
	DeletedAt   *time.Time      `json:"deletedAt,omitempty"`
	Attachments []AttachmentRef `json:"attachments"`
}

// Receipt is a user's read marker in a thread: read up to and including Seq.
type Receipt struct {
	ThreadID string    `json:"threadId"`
	UserID   string    `json:"userId"`
	Seq      int64     `json:"seq"`
	ReadAt   time.Time `json:"readAt"`
}

// AttachmentRef is what a message carries about an attachment.
type AttachmentRef struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	ContentType string `json:"contentType"`
	Size        int64  `json:"size"`
}

// Attachment statuses.
const (
	AttachmentPending  = "pending"  // uploaded, not yet on a message
	AttachmentAttached = "attached" // referenced by MessageID
	AttachmentDeleted  = "deleted"  // its message was deleted; bytes may be removed
)

// Attachment is the stored record of an upload. The bytes live in a blob
// store under StorageKey; the messenger only records the link.
type Attachment struct {
	ID          string
	OwnerID     string
	ThreadID    string // optional at upload; set when attached
	MessageID   string // set when attached
	Name        string
	ContentType string
	Size        int64
	SHA256      string // hex
	StorageKey  string
	Status      string
	CreatedAt   time.Time
}

// Ref returns the message-side view of a.
func (a *Attachment) Ref() AttachmentRef {
	return AttachmentRef{ID: a.ID, Name: a.Name, ContentType: a.ContentType, Size: a.Size}
}

// Event names published on private-thread-{id} and private-user-{id}.
const (
	EventNewMessage     = "new-message"     // Message
	EventMessageUpdated = "message-updated" // Message
	EventMessageDeleted = "message-deleted" // Message (content removed)
	EventMessageRead    = "message-read"    // Receipt
	EventInbox          = "inbox-update"    // InboxEvent, on private-user-{id}
	EventThreadCreated  = "thread-created"  // ThreadCreatedEvent, on private-user-{id}
)

// InboxEvent goes to every participant's private-user-{id} channel for each
// new message in any of their threads.
type InboxEvent struct {
	ThreadID string `json:"threadId"`
	Seq      int64  `json:"seq"`
	SenderID string `json:"senderId"`
	Unread   int64  `json:"unread"`
}

// ThreadCreatedEvent goes to every participant's private-user-{id} channel.
type ThreadCreatedEvent struct {
	ThreadID     string    `json:"threadId"`
	Subject      string    `json:"subject,omitempty"`
	CreatedAt    time.Time `json:"createdAt"`
	Participants []User    `json:"participants"`
}

// ThreadChannel and UserChannel name the Pusher channels events go to.
func ThreadChannel(threadID string) string { return "private-thread-" + threadID }

// UserChannel is the per-user inbox channel.
func UserChannel(userID string) string { return "private-user-" + userID }

// Change kinds in a Sync feed. They equal the real-time event names.
const (
	ChangeNewMessage     = EventNewMessage
	ChangeMessageUpdated = EventMessageUpdated
	ChangeMessageDeleted = EventMessageDeleted
	ChangeMessageRead    = EventMessageRead
	ChangeThreadCreated  = EventThreadCreated
)

// Change is one entry of a user's change feed. Message changes carry the
// message's current state (so a message deleted since carries no content).
type Change struct {
	Kind     string   `json:"kind"`
	ThreadID string   `json:"threadId"`
	Message  *Message `json:"message,omitempty"`
	Receipt  *Receipt `json:"receipt,omitempty"`
	Thread   *Thread  `json:"thread,omitempty"` // thread-created: id, subject, participants
}
