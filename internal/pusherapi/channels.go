package pusherapi

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/parleyhq/parley/internal/pusher"
)

// channels serves GET /apps/{id}/channels?filter_by_prefix=…&info=…
func (h *handler) channels(ctx context.Context, req *request) (any, int, error) {
	prefix := req.query["filter_by_prefix"]
	// subscription_count is not in Pusher's list for this endpoint but is
	// cheap and harmless; user_count needs presence channels only, which
	// Pusher enforces through the prefix filter.
	a, err := parseInfo(req.query["info"], "user_count", "subscription_count")
	if err != nil {
		return nil, 0, err
	}
	if a.userCount && !strings.HasPrefix(prefix, "presence-") {
		return nil, 0, badRequest("user_count may only be requested for presence channels - please supply filter_by_prefix beginning with presence-")
	}
	list, err := h.engine.Channels(ctx, req.app, prefix)
	if err != nil {
		return nil, 0, err
	}
	// Never nil: a nil map encodes as null and the SDKs expect an object.
	out := make(map[string]map[string]int, len(list))
	for name, ci := range list {
		if !strings.HasPrefix(name, prefix) {
			continue
		}
		attrs := map[string]int{}
		if a.userCount {
			attrs["user_count"] = ci.UserCount
		}
		if a.subscriptionCount {
			attrs["subscription_count"] = ci.SubscriptionCount
		}
		out[name] = attrs
	}
	return map[string]any{"channels": out}, http.StatusOK, nil
}

// channel serves GET /apps/{id}/channels/{name}?info=…
func (h *handler) channel(ctx context.Context, req *request) (any, int, error) {
	name := req.param
	if err := pusher.ValidateChannelName(name, req.lim.MaxChannelNameLength); err != nil {
		return nil, 0, badRequest(fmt.Sprintf("invalid channel name %q: %v", name, err))
	}
	a, err := parseInfo(req.query["info"], "user_count", "subscription_count", "cache")
	if err != nil {
		return nil, 0, err
	}
	kind := pusher.Classify(name)
	if a.userCount && kind.Kind != pusher.Presence {
		return nil, 0, badRequest("Cannot retrieve the user count unless the channel is a presence channel")
	}
	if a.cache && !kind.Cache {
		return nil, 0, badRequest("Cannot retrieve the cache unless the channel is a cache channel")
	}
	ci, err := h.engine.Channel(ctx, req.app, name)
	if err != nil {
		return nil, 0, err
	}
	out := map[string]any{"occupied": ci.Occupied}
	if a.userCount {
		out["user_count"] = ci.UserCount
	}
	if a.subscriptionCount {
		out["subscription_count"] = ci.SubscriptionCount
	}
	if a.cache {
		if ci.Cache == nil {
			out["cache"] = nil
		} else {
			out["cache"] = map[string]any{"data": ci.Cache.Data, "ttl": ci.Cache.TTLSeconds}
		}
	}
	return out, http.StatusOK, nil
}

type user struct {
	ID string `json:"id"`
}

// users serves GET /apps/{id}/channels/{name}/users.
func (h *handler) users(ctx context.Context, req *request) (any, int, error) {
	name := req.param
	if err := pusher.ValidateChannelName(name, req.lim.MaxChannelNameLength); err != nil {
		return nil, 0, badRequest(fmt.Sprintf("invalid channel name %q: %v", name, err))
	}
	if pusher.Classify(name).Kind != pusher.Presence {
		return nil, 0, badRequest("users can only be listed for presence channels")
	}
	ids, err := h.engine.Users(ctx, req.app, name)
	if err != nil {
		return nil, 0, err
	}
	out := make([]user, len(ids)) // never nil: [] not null
	for i, id := range ids {
		out[i] = user{ID: id}
	}
	return map[string]any{"users": out}, http.StatusOK, nil
}

// terminate serves POST /apps/{id}/users/{user_id}/terminate_connections.
// The node SDK posts "{}"; the body carries nothing and is not parsed.
func (h *handler) terminate(ctx context.Context, req *request) (any, int, error) {
	id := req.param
	if id == "" {
		return nil, 0, badRequest("user id is empty")
	}
	if len(id) > req.lim.MaxUserIDLength {
		return nil, 0, badRequest(fmt.Sprintf("user id is longer than %d bytes", req.lim.MaxUserIDLength))
	}
	if err := h.engine.TerminateUser(ctx, req.app, id); err != nil {
		return nil, 0, err
	}
	return struct{}{}, http.StatusOK, nil
}
