package hub

import (
	"context"

	"github.com/parleyhq/parley/internal/pusher"
)

// EntryKind is what a State entry records.
type EntryKind uint8

const (
	EntrySubscription EntryKind = iota + 1
	EntryMember
	EntryUser
)

// Entry is one fact this node holds in the cluster State: a subscription,
// a presence membership or a signed-in user of one connection.
type Entry struct {
	Kind    EntryKind
	App     string
	Channel string // subscription and member
	Member  Member // member: UserID and UserInfo; user: UserID
	Conn    string
	// Announced is false for a sign-in the State never confirmed (it was
	// unreachable): restoring it may make the user newly online.
	Announced bool
}

// Entries lists every fact this node's live connections hold, so a State
// that lost them (a Redis restart, an outage) can be refilled, and facts of
// connections that closed meanwhile can be dropped.
func (h *Hub) Entries() []Entry {
	var out []Entry
	for _, a := range h.byID {
		for _, cl := range a.allClients() {
			cl.mu.Lock()
			for name, s := range cl.subs {
				out = append(out, Entry{Kind: EntrySubscription, App: a.app.ID, Channel: name, Conn: cl.key()})
				if s.member != "" {
					out = append(out, Entry{Kind: EntryMember, App: a.app.ID, Channel: name, Member: Member{UserID: s.member, UserInfo: s.memberInfo}, Conn: cl.key()})
				}
			}
			if cl.userID != "" {
				out = append(out, Entry{Kind: EntryUser, App: a.app.ID, Member: Member{UserID: cl.userID}, Conn: cl.key(), Announced: cl.userKnown})
			}
			cl.mu.Unlock()
		}
	}
	return out
}

// Gone reports facts that a State dropped for connections that no longer
// exist (a node died, or closed them while the State was unreachable). The
// hub tells every node's clients and the webhooks, as if the connection had
// left normally. The State calls it on one node only.
type Gone struct {
	Kind    EntryKind
	App     string
	Channel string
	UserID  string
	// Last is true when the entry was the last of its kind: the channel is
	// vacated, the member removed, the user offline.
	Last bool
}

// Forget announces facts dropped by the State.
func (h *Hub) Forget(ctx context.Context, g Gone) {
	a := h.byID[g.App]
	if a == nil || !g.Last {
		return
	}
	app := a.app
	switch g.Kind {
	case EntrySubscription:
		h.observe(app, pusher.WebhookEvent{Name: pusher.HookChannelVacated, Channel: g.Channel})
	case EntryMember:
		h.publish(ctx, a, g.Channel, memberRemovedFrame(g.Channel, g.UserID), "")
		h.observe(app, pusher.WebhookEvent{Name: pusher.HookMemberRemoved, Channel: g.Channel, UserID: g.UserID})
	case EntryUser:
		a.notifyWatchers(g.UserID, false)
		h.toBroker(ctx, Publication{Kind: PubUserOffline, App: app.ID, UserID: g.UserID})
		if h.cfg.UserObserver != nil {
			h.cfg.UserObserver.UserOffline(app, g.UserID)
		}
	}
}

// Arrived announces a sign-in that the State confirmed only after an
// outage, when it made the user newly online: watchers everywhere learn it
// as they would have at sign-in.
func (h *Hub) Arrived(ctx context.Context, e Entry) {
	a := h.byID[e.App]
	if a == nil || e.Kind != EntryUser {
		return
	}
	for _, cl := range a.userClients(e.Member.UserID) {
		if cl.key() == e.Conn {
			cl.mu.Lock()
			cl.userKnown = true
			cl.mu.Unlock()
		}
	}
	a.notifyWatchers(e.Member.UserID, true)
	h.toBroker(ctx, Publication{Kind: PubUserOnline, App: e.App, UserID: e.Member.UserID})
}
