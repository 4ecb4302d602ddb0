package hub

import (
	"context"
	"errors"
	"time"

	"github.com/parleyhq/parley/internal/pusher"
)

// clientEvent relays a client-* event to the channel's other subscribers.
// Rules: enabled for the app, private or presence channel, sender
// subscribed, within the rate and size limits; never echoed to the sender.
func (cl *Client) clientEvent(in pusher.Inbound) {
	app := cl.app.app
	limits := app.Limits
	reject := func(msg string) { cl.sendError(pusher.CodeClientEventRate, msg) }
	if !app.ClientEvents {
		reject("The app does not have client messaging enabled.")
		return
	}
	if limits.MaxEventNameLength > 0 && len(in.Event) > limits.MaxEventNameLength {
		reject("Client event name is too long.")
		return
	}
	cl.mu.Lock()
	s := cl.subs[in.Channel]
	var member string
	if s != nil {
		member = s.member
	}
	limited := cl.overRate(limits.ClientEventsPerSecond)
	cl.mu.Unlock()
	if limited {
		cl.hub.cfg.Metrics.ClientEventsLimited.Add(1)
		cl.sendError(pusher.CodeClientEventRate, pusher.ErrClientEventRate.Message)
		return
	}
	if s == nil {
		reject("Client events need a subscription to the channel: " + in.Channel)
		return
	}
	if !s.kind.AllowsClientEvents() {
		reject("Client events are only allowed on private and presence channels.")
		return
	}
	data, err := pusher.DataString(in.Data)
	if err != nil {
		cl.sendError(0, err.Error())
		return
	}
	if limits.MaxEventDataBytes > 0 && len(data) > limits.MaxEventDataBytes {
		reject("Client event data is larger than the limit.")
		return
	}
	cl.hub.cfg.Metrics.ClientEvents.Add(1)
	ctx, cancel := cl.hub.stateCtx()
	defer cancel()
	cl.hub.publish(ctx, cl.app, in.Channel, pusher.EventFrame(in.Event, in.Channel, data, member), cl.socketID)
	cl.hub.observe(app, pusher.WebhookEvent{
		Name: pusher.HookClientEvent, Channel: in.Channel, Event: in.Event,
		Data: data, SocketID: cl.socketID, UserID: member,
	})
}

// overRate counts one client event in the current second; cl.mu held.
func (cl *Client) overRate(perSecond int) bool {
	if perSecond <= 0 {
		return false
	}
	sec := int32(time.Now().Unix()) // wraps, but only equality matters
	if sec != cl.rateSecond {
		cl.rateSecond, cl.rateCount = sec, 0
	}
	cl.rateCount++
	return int(cl.rateCount) > perSecond
}

// ErrEncryptedMulti is returned for a publish to several channels when one
// is end-to-end encrypted: each needs its own ciphertext.
var ErrEncryptedMulti = errors.New("cannot publish to several channels when one is a private-encrypted- channel")

// Publish delivers ev to every subscriber of its channels on every node,
// except the connection ev.SocketID. It returns once the event is queued
// for every local subscriber and handed to the broker; it never waits for
// a subscriber's socket. Callers validate names and sizes (package
// pusherapi does); Publish checks only what keeps the engine sound.
func (h *Hub) Publish(ctx context.Context, app *pusher.App, ev Event) error {
	a, err := h.appOf(app)
	if err != nil {
		return err
	}
	if len(ev.Channels) > 1 {
		for _, c := range ev.Channels {
			if pusher.Classify(c).Kind == pusher.Encrypted {
				return ErrEncryptedMulti
			}
		}
	}
	for _, channel := range ev.Channels {
		payload := pusher.EventFrame(ev.Name, channel, ev.Data, "")
		kind := pusher.Classify(channel)
		h.cfg.Metrics.Published.Add(1)
		if kind.Kind == pusher.ServerToUser {
			user := channel[len(pusher.ServerToUserPrefix):]
			a.deliverUser(user, h.frame(payload), ev.SocketID)
			h.toBroker(ctx, Publication{Kind: PubEvent, App: app.ID, Channel: channel, Payload: payload, Except: ev.SocketID})
			continue
		}
		if kind.Cache {
			ttl := app.Limits.CacheTTL
			if ttl <= 0 {
				ttl = 30 * time.Minute
			}
			if err := h.state.SetCache(ctx, app.ID, channel, Cached{Event: ev.Name, Data: ev.Data, Expires: time.Now().Add(ttl)}); err != nil {
				h.log.Warn("state set cache failed", "app", app.ID, "err", err)
			}
		}
		h.publish(ctx, a, channel, payload, ev.SocketID)
	}
	return nil
}
