package hub

import (
	"context"
	"time"

	"github.com/parleyhq/parley/internal/pusher"
)

// Channel answers GET /channels/{name} for the whole cluster.
func (h *Hub) Channel(ctx context.Context, app *pusher.App, name string) (ChannelInfo, error) {
	if _, err := h.appOf(app); err != nil {
		return ChannelInfo{}, err
	}
	c, err := h.state.Channel(ctx, app.ID, name)
	if err != nil {
		return ChannelInfo{}, err
	}
	info := ChannelInfo{Occupied: c.Subscriptions > 0, SubscriptionCount: c.Subscriptions, UserCount: c.Users}
	if pusher.Classify(name).Cache {
		cached, ok, err := h.state.Cache(ctx, app.ID, name)
		if err != nil {
			return ChannelInfo{}, err
		}
		if ok {
			ttl := int(time.Until(cached.Expires) / time.Second)
			info.Cache = &CachedEvent{Event: cached.Event, Data: cached.Data, TTLSeconds: ttl}
		}
	}
	return info, nil
}

// Channels lists occupied channels whose names start with prefix.
func (h *Hub) Channels(ctx context.Context, app *pusher.App, prefix string) (map[string]ChannelInfo, error) {
	if _, err := h.appOf(app); err != nil {
		return nil, err
	}
	counts, err := h.state.Channels(ctx, app.ID, prefix)
	if err != nil {
		return nil, err
	}
	out := make(map[string]ChannelInfo, len(counts))
	for name, c := range counts {
		out[name] = ChannelInfo{Occupied: true, SubscriptionCount: c.Subscriptions, UserCount: c.Users}
	}
	return out, nil
}

// Users lists the distinct user ids of a presence channel.
func (h *Hub) Users(ctx context.Context, app *pusher.App, channel string) ([]string, error) {
	if _, err := h.appOf(app); err != nil {
		return nil, err
	}
	members, err := h.state.Members(ctx, app.ID, channel)
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(members))
	for i, m := range members {
		ids[i] = m.UserID
	}
	return ids, nil
}

// Online reports whether a user has a signed-in connection anywhere, or is
// a member of their own presence-user-{id} channel (the messenger's rule).
func (h *Hub) Online(ctx context.Context, app *pusher.App, userID string) (bool, error) {
	online, err := h.state.OnlineUsers(ctx, app.ID, []string{userID})
	if err != nil {
		return false, err
	}
	if online[userID] {
		return true, nil
	}
	members, err := h.state.Members(ctx, app.ID, "presence-user-"+userID)
	if err != nil {
		return false, err
	}
	return hasMember(members, userID), nil
}
