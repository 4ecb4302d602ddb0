package redisbroker

import (
	"context"
	"encoding/json"
	"sort"
	"time"

	"github.com/parleyhq/parley/internal/hub"
)

// reapDead removes the facts of nodes whose heartbeat expired. A lock per
// dead node makes one survivor do it, so departures are announced once.
func (e *Engine) reapDead(ctx context.Context) {
	nodes, err := e.rdb.SMembers(ctx, e.key("nodes")).Result()
	if err != nil {
		return
	}
	for _, node := range nodes {
		if node == e.opts.NodeID {
			continue
		}
		alive, err := e.rdb.Exists(ctx, e.nodeKey(node, "alive")).Result()
		if err != nil || alive == 1 {
			continue
		}
		ok, err := e.rdb.SetNX(ctx, e.nodeKey(node, "reaping"), e.opts.NodeID, time.Minute).Result()
		if err != nil || !ok {
			continue
		}
		e.log.Warn("reaping a dead node's presence and subscriptions", "node", node)
		e.reapNode(ctx, node)
		e.rdb.SRem(ctx, e.key("nodes"), node)
		e.rdb.Del(ctx, e.nodeKey(node, "reaping"))
	}
}

// reapNode removes every fact node holds and announces what that ends.
func (e *Engine) reapNode(ctx context.Context, node string) {
	facts, err := e.rdb.SMembers(ctx, e.nodeKey(node, "facts")).Result()
	if err != nil {
		e.log.Warn("redis: listing a node's facts failed", "node", node, "err", err)
		return
	}
	var all []fact
	for _, s := range facts {
		var f fact
		if json.Unmarshal([]byte(s), &f) != nil {
			e.rdb.SRem(ctx, e.nodeKey(node, "facts"), s)
			continue
		}
		all = append(all, f)
	}
	e.dropAll(ctx, all)
}

// dropAll drops facts, members before subscriptions, so member_removed
// goes out while the channel still counts as occupied.
func (e *Engine) dropAll(ctx context.Context, facts []fact) {
	sort.SliceStable(facts, func(i, j int) bool { return facts[i].K == hub.EntryMember && facts[j].K != hub.EntryMember })
	for _, f := range facts {
		e.drop(ctx, f)
	}
}

// drop removes one fact and, when it was the last of its kind, tells the hub.
func (e *Engine) drop(ctx context.Context, f fact) {
	g := hub.Gone{Kind: f.K, App: f.App, Channel: f.Ch, UserID: f.User}
	var err error
	switch f.K {
	case hub.EntrySubscription:
		_, g.Last, err = e.removeSubscription(ctx, f)
	case hub.EntryMember:
		g.Last, err = e.removeMember(ctx, f)
	case hub.EntryUser:
		g.Last, err = e.removeUser(ctx, f)
	}
	if err != nil {
		e.log.Warn("redis: dropping a fact failed", "err", err)
		return
	}
	if g.Last {
		if forget := e.hooks.Load().Forget; forget != nil {
			forget(ctx, g)
		}
	}
}

// reconcile makes Redis hold exactly this node's live facts after an
// outage: facts of connections that closed meanwhile are dropped (with
// their departures announced) and live ones that Redis lost are written
// back silently — their arrivals were announced when they happened —
// except sign-ins made during the outage, which are announced now.
func (e *Engine) reconcile(ctx context.Context) {
	entries := e.hooks.Load().Entries
	if entries == nil {
		return
	}
	live := map[string]hub.Entry{}
	for _, en := range entries() {
		live[fact{K: en.Kind, App: en.App, Ch: en.Channel, User: en.Member.UserID, Conn: en.Conn}.String()] = en
	}
	held, err := e.rdb.SMembers(ctx, e.nodeKey(e.opts.NodeID, "facts")).Result()
	if err != nil {
		e.log.Warn("redis: reconcile failed", "err", err)
		return
	}
	heldSet := map[string]bool{}
	var stale []fact
	for _, s := range held {
		heldSet[s] = true
		var f fact
		if _, ok := live[s]; !ok && json.Unmarshal([]byte(s), &f) == nil {
			stale = append(stale, f)
		}
	}
	e.dropAll(ctx, stale)
	for s, en := range live {
		if heldSet[s] {
			continue
		}
		var err error
		switch en.Kind {
		case hub.EntrySubscription:
			_, _, err = e.AddSubscription(ctx, en.App, en.Channel, en.Conn)
		case hub.EntryMember:
			_, err = e.AddMember(ctx, en.App, en.Channel, en.Member, en.Conn)
		case hub.EntryUser:
			var first bool
			first, err = e.AddUser(ctx, en.App, en.Member.UserID, en.Conn)
			if err == nil && first && !en.Announced {
				if arrived := e.hooks.Load().Arrived; arrived != nil {
					arrived(ctx, en)
				}
			}
		}
		if err != nil && err != ErrUnavailable {
			e.log.Warn("redis: restoring a fact failed", "err", err)
		}
	}
}
