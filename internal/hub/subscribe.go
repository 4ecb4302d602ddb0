package hub

import (
	"bytes"
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/parleyhq/parley/internal/pusher"
)

// subscribe handles pusher:subscribe. Every failure answers
// pusher:subscription_error on the channel and keeps the socket open.
func (cl *Client) subscribe(data json.RawMessage) {
	var d pusher.SubscribeData
	if err := pusher.DecodeData(data, &d); err != nil || d.Channel == "" {
		cl.sendError(0, "pusher:subscribe needs data with a channel")
		return
	}
	app := cl.app.app
	fail := func(typ, msg string, status int) {
		cl.hub.cfg.Metrics.SubscribeErrors.Add(1)
		cl.send(pusher.SubscriptionError(d.Channel, typ, msg, status))
	}
	if err := pusher.ValidateChannelName(d.Channel, app.Limits.MaxChannelNameLength); err != nil {
		fail("InvalidChannel", err.Error(), 400)
		return
	}
	kind := pusher.Classify(d.Channel)

	cl.mu.Lock()
	_, already := cl.subs[d.Channel]
	user := cl.userID
	cl.mu.Unlock()

	if kind.Kind == pusher.ServerToUser {
		// pusher-js subscribes to its own user channel after sign-in;
		// delivery goes by the user index, so there is nothing to record.
		if user == "" || d.Channel != pusher.ServerToUserPrefix+user {
			fail("AuthError", "Only the user signed in on this connection may subscribe to its server-to-user channel", 403)
			return
		}
		cl.send(pusher.EventFrame(pusher.EventSubscriptionSucceeded, d.Channel, "{}", ""))
		return
	}

	var member *Member
	if kind.NeedsAuth() {
		channelData := ""
		if d.ChannelData != nil {
			channelData = *d.ChannelData
		}
		if d.Auth == "" {
			fail("AuthError", "Auth info required to subscribe to "+d.Channel, 401)
			return
		}
		if !pusher.VerifyChannelAuth(app.Key, app.Secret, cl.socketID, d.Channel, channelData, d.Auth) {
			fail("AuthError", "Invalid signature: expected HMAC-SHA256 of socket_id:channel[:channel_data] with the app secret", 401)
			return
		}
		if kind.Kind == pusher.Presence {
			m, errMsg := cl.presenceMember(d.ChannelData)
			if errMsg != "" {
				fail("InvalidChannelData", errMsg, 400)
				return
			}
			member = &m
		}
	}

	if already {
		// A repeated subscribe is answered again without counting twice.
		cl.succeed(d.Channel, kind)
		return
	}

	ctx, cancel := cl.hub.stateCtx()
	defer cancel()
	if member != nil {
		if max := app.Limits.MaxPresenceMembers; max > 0 {
			members, err := cl.hub.state.Members(ctx, app.ID, d.Channel)
			if err != nil {
				fail("ServerError", "presence state unavailable", 500)
				return
			}
			if len(members) >= max && !hasMember(members, member.UserID) {
				fail("LimitReached", "Presence channel is full: at most "+strconv.Itoa(max)+" members", 4100)
				return
			}
		}
	}

	cl.mu.Lock()
	if cl.closed.Load() {
		cl.mu.Unlock()
		return
	}
	if cl.subs == nil {
		cl.subs = map[string]*subscription{}
	}
	s := &subscription{kind: kind}
	if member != nil {
		s.member, s.memberInfo = member.UserID, member.UserInfo
	}
	cl.subs[d.Channel] = s
	if kind.NeedsAuth() {
		cl.authorized = true
	}
	cl.mu.Unlock()

	a := cl.app
	a.addSubscriber(d.Channel, kind, cl)
	count, occupied, err := cl.hub.state.AddSubscription(ctx, app.ID, d.Channel, cl.key())
	if err != nil {
		cl.hub.log.Warn("state add subscription failed", "app", app.ID, "err", err)
	}
	if occupied {
		cl.hub.observe(app, pusher.WebhookEvent{Name: pusher.HookChannelOccupied, Channel: d.Channel})
	}
	if member != nil {
		added, err := cl.hub.state.AddMember(ctx, app.ID, d.Channel, *member, cl.key())
		if err != nil {
			cl.hub.log.Warn("state add member failed", "app", app.ID, "err", err)
		}
		if added {
			payload := pusher.EventFrame(pusher.EventMemberAdded, d.Channel, memberJSON(*member), "")
			cl.hub.publish(ctx, a, d.Channel, payload, cl.socketID)
			cl.hub.observe(app, pusher.WebhookEvent{Name: pusher.HookMemberAdded, Channel: d.Channel, UserID: member.UserID})
		}
	}
	cl.succeed(d.Channel, kind)
	if kind.Cache {
		cl.sendCache(ctx, d.Channel)
	}
	if kind.Kind != pusher.Presence {
		cl.hub.subscriptionCount(a, d.Channel, count)
	}
}

// succeed sends pusher_internal:subscription_succeeded; presence channels
// carry the member list, where every id is a key of hash.
func (cl *Client) succeed(channel string, kind pusher.Channel) {
	if kind.Kind != pusher.Presence {
		cl.send(pusher.EventFrame(pusher.EventSubscriptionSucceeded, channel, "{}", ""))
		return
	}
	ctx, cancel := cl.hub.stateCtx()
	defer cancel()
	members, err := cl.hub.state.Members(ctx, cl.app.app.ID, channel)
	if err != nil {
		cl.hub.log.Warn("state members failed", "err", err)
	}
	cl.send(pusher.EventFrame(pusher.EventSubscriptionSucceeded, channel, presenceData(members), ""))
}

// presenceMember takes the member from channel_data or, when absent, from
// the signed-in user, as pusher-js does for signed-in presence.
func (cl *Client) presenceMember(channelData *string) (Member, string) {
	limits := cl.app.app.Limits
	if channelData == nil {
		cl.mu.Lock()
		defer cl.mu.Unlock()
		if cl.userID == "" {
			return Member{}, "channel_data is required unless the connection is signed in"
		}
		return Member{UserID: cl.userID, UserInfo: cl.userInfo()}, ""
	}
	var cd struct {
		UserID   json.RawMessage `json:"user_id"`
		UserInfo json.RawMessage `json:"user_info"`
	}
	if err := json.Unmarshal([]byte(*channelData), &cd); err != nil {
		return Member{}, "channel_data must be a JSON object with user_id"
	}
	id, ok := userIDString(cd.UserID)
	if !ok || id == "" {
		return Member{}, "channel_data.user_id must be a non-empty string or number"
	}
	if limits.MaxUserIDLength > 0 && len(id) > limits.MaxUserIDLength {
		return Member{}, "user_id is longer than " + strconv.Itoa(limits.MaxUserIDLength) + " characters"
	}
	info := bytes.TrimSpace(cd.UserInfo)
	if limits.MaxPresenceUserBytes > 0 && len(info) > limits.MaxPresenceUserBytes {
		return Member{}, "user_info is larger than " + strconv.Itoa(limits.MaxPresenceUserBytes) + " bytes"
	}
	if len(info) > 0 {
		var buf bytes.Buffer
		if err := json.Compact(&buf, info); err == nil {
			info = buf.Bytes()
		}
	}
	return Member{UserID: id, UserInfo: json.RawMessage(info)}, ""
}

// userIDString normalises a user id given as a JSON string or number.
func userIDString(raw json.RawMessage) (string, bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return "", false
	}
	if raw[0] == '"' {
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return "", false
		}
		return s, true
	}
	var n json.Number
	if json.Unmarshal(raw, &n) != nil {
		return "", false
	}
	return n.String(), true
}

func hasMember(ms []Member, id string) bool {
	for _, m := range ms {
		if m.UserID == id {
			return true
		}
	}
	return false
}

// presenceData encodes {"presence":{"ids":[…],"hash":{…},"count":n}}.
func presenceData(members []Member) string {
	var b strings.Builder
	b.WriteString(`{"presence":{"ids":[`)
	for i, m := range members {
		if i > 0 {
			b.WriteByte(',')
		}
		b.Write(pusher.AppendString(nil, m.UserID))
	}
	b.WriteString(`],"hash":{`)
	for i, m := range members {
		if i > 0 {
			b.WriteByte(',')
		}
		b.Write(pusher.AppendString(nil, m.UserID))
		b.WriteByte(':')
		if len(m.UserInfo) == 0 {
			b.WriteString("null")
		} else {
			b.Write(m.UserInfo)
		}
	}
	b.WriteString(`},"count":`)
	b.WriteString(strconv.Itoa(len(members)))
	b.WriteString(`}}`)
	return b.String()
}

// memberRemovedFrame encodes pusher_internal:member_removed for one user.
func memberRemovedFrame(channel, userID string) []byte {
	return pusher.EventFrame(pusher.EventMemberRemoved, channel, `{"user_id":`+string(pusher.AppendString(nil, userID))+`}`, "")
}

func memberJSON(m Member) string {
	b := []byte(`{"user_id":`)
	b = pusher.AppendString(b, m.UserID)
	if len(m.UserInfo) > 0 {
		b = append(b, `,"user_info":`...)
		b = append(b, m.UserInfo...)
	}
	return string(append(b, '}'))
}

// unsubscribeFrame handles pusher:unsubscribe. There is no reply.
func (cl *Client) unsubscribeFrame(data json.RawMessage) {
	var d struct {
		Channel string `json:"channel"`
	}
	if err := pusher.DecodeData(data, &d); err != nil || d.Channel == "" {
		cl.sendError(0, "pusher:unsubscribe needs data with a channel")
		return
	}
	cl.mu.Lock()
	s := cl.subs[d.Channel]
	delete(cl.subs, d.Channel)
	cl.mu.Unlock()
	if s == nil {
		return
	}
	ctx, cancel := cl.hub.stateCtx()
	defer cancel()
	cl.leave(ctx, d.Channel, s)
}

// leave removes one subscription locally and from the cluster state.
func (cl *Client) leave(ctx context.Context, channel string, s *subscription) {
	a := cl.app
	app := a.app
	a.removeSubscriber(channel, cl)
	if s.member != "" {
		removed, err := cl.hub.state.RemoveMember(ctx, app.ID, channel, s.member, cl.key())
		if err != nil {
			cl.hub.log.Warn("state remove member failed", "app", app.ID, "err", err)
		}
		if removed {
			cl.hub.publish(ctx, a, channel, memberRemovedFrame(channel, s.member), cl.socketID)
			cl.hub.observe(app, pusher.WebhookEvent{Name: pusher.HookMemberRemoved, Channel: channel, UserID: s.member})
		}
	}
	count, vacated, err := cl.hub.state.RemoveSubscription(ctx, app.ID, channel, cl.key())
	if err != nil {
		cl.hub.log.Warn("state remove subscription failed", "app", app.ID, "err", err)
	}
	if vacated {
		cl.hub.observe(app, pusher.WebhookEvent{Name: pusher.HookChannelVacated, Channel: channel})
	} else if s.kind.Kind != pusher.Presence {
		cl.hub.subscriptionCount(a, channel, count)
	}
}

// sendCache replays a cache channel's last event or reports a miss.
func (cl *Client) sendCache(ctx context.Context, channel string) {
	c, ok, err := cl.hub.state.Cache(ctx, cl.app.app.ID, channel)
	if err != nil {
		cl.hub.log.Warn("state cache failed", "err", err)
	}
	if ok {
		cl.send(pusher.EventFrame(c.Event, channel, c.Data, ""))
		return
	}
	cl.send(pusher.EventFrame(pusher.EventCacheMiss, channel, "{}", ""))
	cl.hub.observe(cl.app.app, pusher.WebhookEvent{Name: pusher.HookCacheMiss, Channel: channel})
}

// countThrottle limits subscription_count on large channels to one per
// interval, sending the latest count when the interval ends.
type countThrottle struct {
	last    time.Time
	pending bool
	timer   *time.Timer
}

func (t *countThrottle) stop() {
	if t.timer != nil {
		t.timer.Stop()
	}
}

// subscriptionCount broadcasts pusher_internal:subscription_count when the
// app asks for it. Channels above 100 subscribers get at most one per
// SubscriptionCountInterval, as Pusher does.
func (h *Hub) subscriptionCount(a *appState, channel string, count int) {
	if !a.app.SubscriptionCount {
		return
	}
	if count > 100 {
		a.mu.Lock()
		ch := a.channels[channel]
		if ch == nil {
			a.mu.Unlock()
			return
		}
		t := &ch.count
		wait := h.cfg.SubscriptionCountInterval - time.Since(t.last)
		if wait > 0 {
			if !t.pending {
				t.pending = true
				t.timer = time.AfterFunc(wait, func() { h.flushCount(a, channel) })
			}
			a.mu.Unlock()
			return
		}
		t.last = time.Now()
		a.mu.Unlock()
	}
	h.sendCount(a, channel, count)
}

func (h *Hub) flushCount(a *appState, channel string) {
	a.mu.Lock()
	ch := a.channels[channel]
	if ch != nil {
		ch.count.pending = false
		ch.count.last = time.Now()
	}
	a.mu.Unlock()
	if ch == nil {
		return
	}
	ctx, cancel := h.stateCtx()
	defer cancel()
	c, err := h.state.Channel(ctx, a.app.ID, channel)
	if err != nil {
		return
	}
	h.sendCount(a, channel, c.Subscriptions)
}

func (h *Hub) sendCount(a *appState, channel string, count int) {
	ctx, cancel := h.stateCtx()
	defer cancel()
	data := `{"subscription_count":` + strconv.Itoa(count) + `}`
	h.publish(ctx, a, channel, pusher.EventFrame(pusher.EventSubscriptionCount, channel, data, ""), "")
	n := count
	h.observe(a.app, pusher.WebhookEvent{Name: pusher.HookSubscriptionCount, Channel: channel, SubscriptionCount: &n})
}
