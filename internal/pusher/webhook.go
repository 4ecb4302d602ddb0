package pusher

// Webhook event names.
const (
	HookChannelOccupied   = "channel_occupied"
	HookChannelVacated    = "channel_vacated"
	HookMemberAdded       = "member_added"
	HookMemberRemoved     = "member_removed"
	HookClientEvent       = "client_event"
	HookCacheMiss         = "cache_miss"
	HookSubscriptionCount = "subscription_count"
)

// WebhookEvent is one event in a webhook body. Data and UserID are strings
// because pusher-http-go unmarshals them as strings.
type WebhookEvent struct {
	Name              string `json:"name"`
	Channel           string `json:"channel"`
	Event             string `json:"event,omitempty"`
	Data              string `json:"data,omitempty"`
	SocketID          string `json:"socket_id,omitempty"`
	UserID            string `json:"user_id,omitempty"`
	SubscriptionCount *int   `json:"subscription_count,omitempty"`
}

// WebhookBody is what a webhook POST carries.
type WebhookBody struct {
	TimeMs int64          `json:"time_ms"`
	Events []WebhookEvent `json:"events"`
}
