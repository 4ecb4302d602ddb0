package hub

import (
	"context"
	"sort"
	"strings"
	"sync"
	"time"
)

// MemoryState is State for one process. Several hubs may share one to act
// as a cluster in tests.
type MemoryState struct {
	mu    sync.Mutex
	apps  map[string]*memApp
	clock func() time.Time
}

type memApp struct {
	channels map[string]*memChannel
	users    map[string]map[string]struct{} // user → conns
	cache    map[string]Cached
}

type memChannel struct {
	conns   map[string]struct{}
	members map[string]*memMember // presence: user → member
}

type memMember struct {
	info  Member
	conns map[string]struct{}
}

var _ State = (*MemoryState)(nil)

// NewMemoryState returns an empty state.
func NewMemoryState() *MemoryState {
	return &MemoryState{apps: map[string]*memApp{}, clock: time.Now}
}

func (s *MemoryState) app(id string) *memApp {
	a := s.apps[id]
	if a == nil {
		a = &memApp{channels: map[string]*memChannel{}, users: map[string]map[string]struct{}{}, cache: map[string]Cached{}}
		s.apps[id] = a
	}
	return a
}

func (s *MemoryState) AddSubscription(_ context.Context, app, channel, conn string) (int, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.app(app)
	ch := a.channels[channel]
	if ch == nil {
		ch = &memChannel{conns: map[string]struct{}{}}
		a.channels[channel] = ch
	}
	occupied := len(ch.conns) == 0
	ch.conns[conn] = struct{}{}
	return len(ch.conns), occupied, nil
}

func (s *MemoryState) RemoveSubscription(_ context.Context, app, channel, conn string) (int, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.app(app)
	ch := a.channels[channel]
	if ch == nil {
		return 0, false, nil
	}
	if _, ok := ch.conns[conn]; !ok {
		return len(ch.conns), false, nil
	}
	delete(ch.conns, conn)
	n := len(ch.conns)
	if n == 0 && len(ch.members) == 0 {
		delete(a.channels, channel)
	}
	return n, n == 0, nil
}

func (s *MemoryState) AddMember(_ context.Context, app, channel string, m Member, conn string) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.app(app)
	ch := a.channels[channel]
	if ch == nil {
		ch = &memChannel{conns: map[string]struct{}{}}
		a.channels[channel] = ch
	}
	if ch.members == nil {
		ch.members = map[string]*memMember{}
	}
	mm := ch.members[m.UserID]
	if mm == nil {
		mm = &memMember{info: m, conns: map[string]struct{}{}}
		ch.members[m.UserID] = mm
	}
	added := len(mm.conns) == 0
	mm.conns[conn] = struct{}{}
	return added, nil
}

func (s *MemoryState) RemoveMember(_ context.Context, app, channel, userID, conn string) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.app(app)
	ch := a.channels[channel]
	if ch == nil || ch.members == nil {
		return false, nil
	}
	mm := ch.members[userID]
	if mm == nil {
		return false, nil
	}
	if _, ok := mm.conns[conn]; !ok {
		return false, nil
	}
	delete(mm.conns, conn)
	if len(mm.conns) > 0 {
		return false, nil
	}
	delete(ch.members, userID)
	if len(ch.conns) == 0 && len(ch.members) == 0 {
		delete(a.channels, channel)
	}
	return true, nil
}

func (s *MemoryState) Members(_ context.Context, app, channel string) ([]Member, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := s.app(app).channels[channel]
	if ch == nil {
		return nil, nil
	}
	out := make([]Member, 0, len(ch.members))
	for _, m := range ch.members {
		out = append(out, m.info)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].UserID < out[j].UserID })
	return out, nil
}

func (s *MemoryState) Channel(_ context.Context, app, channel string) (Counts, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := s.app(app).channels[channel]
	if ch == nil {
		return Counts{}, nil
	}
	return Counts{Subscriptions: len(ch.conns), Users: len(ch.members)}, nil
}

func (s *MemoryState) Channels(_ context.Context, app, prefix string) (map[string]Counts, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]Counts{}
	for name, ch := range s.app(app).channels {
		if len(ch.conns) > 0 && strings.HasPrefix(name, prefix) {
			out[name] = Counts{Subscriptions: len(ch.conns), Users: len(ch.members)}
		}
	}
	return out, nil
}

func (s *MemoryState) AddUser(_ context.Context, app, userID, conn string) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.app(app)
	conns := a.users[userID]
	if conns == nil {
		conns = map[string]struct{}{}
		a.users[userID] = conns
	}
	first := len(conns) == 0
	conns[conn] = struct{}{}
	return first, nil
}

func (s *MemoryState) RemoveUser(_ context.Context, app, userID, conn string) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.app(app)
	conns := a.users[userID]
	if _, ok := conns[conn]; !ok {
		return false, nil
	}
	delete(conns, conn)
	if len(conns) > 0 {
		return false, nil
	}
	delete(a.users, userID)
	return true, nil
}

func (s *MemoryState) OnlineUsers(_ context.Context, app string, ids []string) (map[string]bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.app(app)
	out := make(map[string]bool, len(ids))
	for _, id := range ids {
		out[id] = len(a.users[id]) > 0
	}
	return out, nil
}

func (s *MemoryState) SetCache(_ context.Context, app, channel string, c Cached) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.app(app).cache[channel] = c
	return nil
}

func (s *MemoryState) Cache(_ context.Context, app, channel string) (Cached, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.app(app)
	c, ok := a.cache[channel]
	if !ok {
		return Cached{}, false, nil
	}
	if !s.clock().Before(c.Expires) {
		delete(a.cache, channel)
		return Cached{}, false, nil
	}
	return c, true, nil
}

// MemoryBroker connects hubs in one process. With a single hub it carries
// nothing: the local node delivers its own publications.
type MemoryBroker struct {
	mu    sync.RWMutex
	nodes map[*memNode]struct{}
}

type memNode struct {
	b       *MemoryBroker
	deliver func(Publication)
}

// NewMemoryBroker returns a broker; call Node once per hub.
func NewMemoryBroker() *MemoryBroker { return &MemoryBroker{nodes: map[*memNode]struct{}{}} }

// Node returns the Broker one hub uses.
func (b *MemoryBroker) Node() Broker { return &memNode{b: b} }

func (n *memNode) Publish(_ context.Context, p Publication) error {
	n.b.mu.RLock()
	defer n.b.mu.RUnlock()
	for other := range n.b.nodes {
		if other != n && other.deliver != nil {
			other.deliver(p)
		}
	}
	return nil
}

func (n *memNode) Run(ctx context.Context, deliver func(Publication)) error {
	n.b.mu.Lock()
	n.deliver = deliver
	n.b.nodes[n] = struct{}{}
	n.b.mu.Unlock()
	<-ctx.Done()
	n.b.mu.Lock()
	delete(n.b.nodes, n)
	n.b.mu.Unlock()
	return nil
}
