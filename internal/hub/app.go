package hub

import (
	"sync"
	"sync/atomic"

	"github.com/parleyhq/parley/internal/pusher"
)

// appState is one app's local state on this node.
type appState struct {
	hub *Hub
	app *pusher.App

	mu       sync.RWMutex
	clients  map[*Client]struct{}
	channels map[string]*localChannel
	users    map[string]map[*Client]struct{} // signed-in user → local conns
	watchers map[string]map[*Client]struct{} // watched user → local watchers
	conns    atomic.Int64
}

// localChannel holds this node's subscribers of one channel. subs is
// copy-on-write so fan-out iterates without a lock: a publish reads one
// pointer and walks a slice.
type localChannel struct {
	name  string
	kind  pusher.Channel
	subs  atomic.Pointer[[]*Client]
	count countThrottle
}

func newAppState(h *Hub, app *pusher.App) *appState {
	return &appState{
		hub:      h,
		app:      app,
		clients:  map[*Client]struct{}{},
		channels: map[string]*localChannel{},
		users:    map[string]map[*Client]struct{}{},
		watchers: map[string]map[*Client]struct{}{},
	}
}

func (a *appState) allClients() []*Client {
	a.mu.RLock()
	defer a.mu.RUnlock()
	out := make([]*Client, 0, len(a.clients))
	for c := range a.clients {
		out = append(out, c)
	}
	return out
}

// addSubscriber adds cl to a channel's local subscribers and reports
// whether it was new on this node.
func (a *appState) addSubscriber(name string, kind pusher.Channel, cl *Client) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	ch := a.channels[name]
	if ch == nil {
		ch = &localChannel{name: name, kind: kind}
		empty := []*Client{}
		ch.subs.Store(&empty)
		a.channels[name] = ch
	}
	old := *ch.subs.Load()
	for _, c := range old {
		if c == cl {
			return false
		}
	}
	next := make([]*Client, len(old), len(old)+1)
	copy(next, old)
	next = append(next, cl)
	ch.subs.Store(&next)
	return true
}

// removeSubscriber removes cl and reports whether it was subscribed.
func (a *appState) removeSubscriber(name string, cl *Client) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	ch := a.channels[name]
	if ch == nil {
		return false
	}
	old := *ch.subs.Load()
	idx := -1
	for i, c := range old {
		if c == cl {
			idx = i
			break
		}
	}
	if idx < 0 {
		return false
	}
	if len(old) == 1 {
		delete(a.channels, name)
		ch.count.stop()
		empty := []*Client{}
		ch.subs.Store(&empty)
		return true
	}
	next := make([]*Client, 0, len(old)-1)
	next = append(next, old[:idx]...)
	next = append(next, old[idx+1:]...)
	ch.subs.Store(&next)
	return true
}

func (a *appState) channel(name string) *localChannel {
	a.mu.RLock()
	defer a.mu.RUnlock()
	return a.channels[name]
}

// deliverLocal sends one framed payload to this node's subscribers of a
// channel, except the connection with socket id except.
func (a *appState) deliverLocal(channel string, framed []byte, except string) int {
	ch := a.channel(channel)
	if ch == nil {
		return 0
	}
	n := 0
	for _, c := range *ch.subs.Load() {
		if c.socketID == except {
			continue
		}
		c.conn.Send(framed)
		n++
	}
	a.hub.cfg.Metrics.Delivered.Add(uint64(n))
	return n
}

// deliverUser sends to every local connection signed in as user.
func (a *appState) deliverUser(user string, framed []byte, except string) {
	a.mu.RLock()
	defer a.mu.RUnlock()
	for c := range a.users[user] {
		if c.socketID != except {
			c.conn.Send(framed)
			a.hub.cfg.Metrics.Delivered.Add(1)
		}
	}
}

func (a *appState) userClients(user string) []*Client {
	a.mu.RLock()
	defer a.mu.RUnlock()
	out := make([]*Client, 0, len(a.users[user]))
	for c := range a.users[user] {
		out = append(out, c)
	}
	return out
}

func (a *appState) watchersOf(user string) []*Client {
	a.mu.RLock()
	defer a.mu.RUnlock()
	out := make([]*Client, 0, len(a.watchers[user]))
	for c := range a.watchers[user] {
		out = append(out, c)
	}
	return out
}

func addTo(m map[string]map[*Client]struct{}, key string, c *Client) {
	set := m[key]
	if set == nil {
		set = map[*Client]struct{}{}
		m[key] = set
	}
	set[c] = struct{}{}
}

func removeFrom(m map[string]map[*Client]struct{}, key string, c *Client) {
	if set := m[key]; set != nil {
		delete(set, c)
		if len(set) == 0 {
			delete(m, key)
		}
	}
}
