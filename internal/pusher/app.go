package pusher

import "time"

// App is one tenant of the server: its credentials, switches and limits.
// Values are read-only once the server runs; a reload builds new Apps.
type App struct {
	ID      string // numeric: both server SDKs parse it as a number
	Key     string
	Secret  string
	Enabled bool

	ClientEvents       bool // clients may send client-* events
	SubscriptionCount  bool // send pusher_internal:subscription_count
	UserAuthentication bool // accept pusher:signin (on by default)
	Watchlist          bool // honour watchlists in signed-in user data
	// AuthorizedConnectionsTimeout closes connections that neither sign in
	// nor subscribe to a private or presence channel in time (0 = off).
	AuthorizedConnectionsTimeout time.Duration

	Limits   Limits
	Webhooks []Webhook
}

// Limits bound everything a client or publisher controls.
type Limits struct {
	MaxConnections        int // per node; 0 = unlimited
	MaxChannelNameLength  int // 164 like Pusher; the SDKs allow 200
	MaxEventNameLength    int
	MaxEventDataBytes     int // HTTP events and client events; 10 KiB like Pusher
	MaxPresenceMembers    int
	MaxPresenceUserBytes  int // size of user_info
	MaxUserIDLength       int
	ClientEventsPerSecond int
	MaxChannelsPerEvent   int
	MaxBatchSize          int
	MaxWatchlist          int
	CacheTTL              time.Duration
}

// DefaultLimits are Pusher's documented limits.
func DefaultLimits() Limits {
	return Limits{
		MaxChannelNameLength:  164,
		MaxEventNameLength:    200,
		MaxEventDataBytes:     10 * 1024,
		MaxPresenceMembers:    100,
		MaxPresenceUserBytes:  1024,
		MaxUserIDLength:       128,
		ClientEventsPerSecond: 10,
		MaxChannelsPerEvent:   100,
		MaxBatchSize:          10,
		MaxWatchlist:          100,
		CacheTTL:              30 * time.Minute,
	}
}

// Webhook is one receiver of an app's webhooks.
type Webhook struct {
	URL string
	// EventTypes filters by webhook name (channel_occupied, member_added…);
	// empty means all.
	EventTypes []string
	// Batch sends several events per POST, as Pusher's "batch webhooks".
	Batch bool
}

// Wants reports whether the receiver subscribed to events named name.
func (w Webhook) Wants(name string) bool {
	if len(w.EventTypes) == 0 {
		return true
	}
	for _, t := range w.EventTypes {
		if t == name {
			return true
		}
	}
	return false
}
