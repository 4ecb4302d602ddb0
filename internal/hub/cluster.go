package hub

import (
	"context"
	"encoding/json"
	"time"
)

// The hub reaches other nodes only through Broker (messages) and State
// (cluster-wide membership). The memory implementations in memory.go serve
// one node, or several hubs in one process in tests; package redisbroker
// implements both on Redis.

// PubKind says what a Publication asks the receiving nodes to do.
type PubKind uint8

const (
	// PubEvent delivers Payload to the local subscribers of Channel, or for
	// a #server-to-user- channel to the local connections of that user.
	PubEvent PubKind = iota + 1
	// PubUserOnline and PubUserOffline tell local watchers of UserID.
	PubUserOnline
	PubUserOffline
	// PubTerminate closes the local connections signed in as UserID.
	PubTerminate
)

// Publication is what one node sends the others.
type Publication struct {
	Kind    PubKind `json:"k"`
	App     string  `json:"a"`
	Channel string  `json:"c,omitempty"`
	UserID  string  `json:"u,omitempty"`
	// Payload is the encoded Pusher frame (JSON, not WebSocket-framed).
	Payload []byte `json:"p,omitempty"`
	// Except is the socket id that must not receive the event.
	Except string `json:"x,omitempty"`
}

// Broker carries publications between nodes. The local node delivers its
// own publications itself; Publish must reach every other node once, in
// order per publisher and channel.
type Broker interface {
	Publish(ctx context.Context, p Publication) error
	// Run delivers other nodes' publications to deliver until ctx ends.
	// The hub calls it once, in its own goroutine.
	Run(ctx context.Context, deliver func(Publication)) error
}

// Member is one presence member.
type Member struct {
	UserID   string          `json:"user_id"`
	UserInfo json.RawMessage `json:"user_info,omitempty"`
}

// Counts is a channel's cluster-wide occupancy.
type Counts struct {
	Subscriptions int
	Users         int // presence channels only
}

// Cached is a cache channel's last event.
type Cached struct {
	Event   string
	Data    string
	Expires time.Time
}

// State is cluster-wide membership. A conn is named by its key, "node/socket",
// so an implementation can drop every entry of a node that died. Every
// method is safe for concurrent use and answers for the whole cluster.
type State interface {
	// AddSubscription counts conn into channel. occupied reports that the
	// channel had no subscriber anywhere before.
	AddSubscription(ctx context.Context, app, channel, conn string) (count int, occupied bool, err error)
	// RemoveSubscription reverses AddSubscription; vacated reports that the
	// channel has no subscriber left anywhere.
	RemoveSubscription(ctx context.Context, app, channel, conn string) (count int, vacated bool, err error)
	// AddMember records conn as a connection of member m on a presence
	// channel; added reports the user's first connection cluster-wide.
	AddMember(ctx context.Context, app, channel string, m Member, conn string) (added bool, err error)
	// RemoveMember reverses AddMember; removed reports the user's last one.
	RemoveMember(ctx context.Context, app, channel, userID, conn string) (removed bool, err error)
	// Members lists a presence channel's distinct members.
	Members(ctx context.Context, app, channel string) ([]Member, error)
	// Channel and Channels report occupancy; Channels lists only occupied
	// channels whose name starts with prefix.
	Channel(ctx context.Context, app, channel string) (Counts, error)
	Channels(ctx context.Context, app, prefix string) (map[string]Counts, error)
	// AddUser and RemoveUser track signed-in connections; first and last
	// report the user's first and last connection cluster-wide.
	AddUser(ctx context.Context, app, userID, conn string) (first bool, err error)
	RemoveUser(ctx context.Context, app, userID, conn string) (last bool, err error)
	// OnlineUsers returns which of ids have a signed-in connection.
	OnlineUsers(ctx context.Context, app string, ids []string) (map[string]bool, error)
	// SetCache and Cache keep the last event of a cache channel.
	SetCache(ctx context.Context, app, channel string, c Cached) error
	Cache(ctx context.Context, app, channel string) (Cached, bool, error)
}
