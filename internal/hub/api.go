package hub

import "github.com/parleyhq/parley/internal/pusher"

// Event is one publish through the HTTP API or from the messenger.
type Event struct {
	Name     string
	Channels []string
	Data     string // passed to subscribers untouched
	SocketID string // this connection does not receive the event
}

// ChannelInfo answers the HTTP API's channel queries, cluster-wide.
type ChannelInfo struct {
	Occupied          bool
	SubscriptionCount int // connections subscribed
	UserCount         int // distinct presence members (presence only)
	Cache             *CachedEvent
}

// CachedEvent is the last event published to a cache channel.
type CachedEvent struct {
	Event      string
	Data       string
	TTLSeconds int // remaining
}

// Observer learns of the events that webhooks report. The hub calls it
// once per event cluster-wide; Observe must not block.
type Observer interface {
	Observe(app *pusher.App, e pusher.WebhookEvent)
}
