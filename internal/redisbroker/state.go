package redisbroker

import (
	"context"
	"encoding/json"
	"sort"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/parleyhq/parley/internal/hub"
)

// Key layout (prefix "parley"):
//   app:{a}:channels            set of occupied channel names
//   app:{a}:subs:{channel}      set of conns subscribed
//   app:{a}:members:{channel}   hash user → user_info
//   app:{a}:mconns:{channel}:{user}  set of the member's conns
//   app:{a}:user:{user}         set of signed-in conns
//   app:{a}:cache:{channel}     last cached event, with a TTL
//   node:{n}:facts              set of facts node n holds
//   node:{n}:alive              heartbeat, expires
//   nodes                       set of node ids

func (e *Engine) appKey(app string, parts ...string) string {
	return e.key(append([]string{"app", app}, parts...)...)
}

func (e *Engine) factsKey(conn string) string { return e.nodeKey(nodeOf(conn), "facts") }

func (e *Engine) AddSubscription(ctx context.Context, app, channel, conn string) (int, bool, error) {
	if err := e.check(); err != nil {
		return 0, false, err
	}
	f := fact{K: hub.EntrySubscription, App: app, Ch: channel, Conn: conn}
	res, err := addSubscription.Run(ctx, e.rdb, []string{e.appKey(app, "subs", channel), e.appKey(app, "channels"), e.factsKey(conn)}, conn, channel, f.String()).Int64Slice()
	if err != nil {
		return 0, false, err
	}
	return int(res[0]), res[1] == 1, nil
}

func (e *Engine) RemoveSubscription(ctx context.Context, app, channel, conn string) (int, bool, error) {
	if err := e.check(); err != nil {
		return 0, false, err
	}
	return e.removeSubscription(ctx, fact{K: hub.EntrySubscription, App: app, Ch: channel, Conn: conn})
}

func (e *Engine) removeSubscription(ctx context.Context, f fact) (int, bool, error) {
	res, err := removeSubscription.Run(ctx, e.rdb, []string{e.appKey(f.App, "subs", f.Ch), e.appKey(f.App, "channels"), e.factsKey(f.Conn)}, f.Conn, f.Ch, f.String()).Int64Slice()
	if err != nil {
		return 0, false, err
	}
	return int(res[0]), res[1] == 1, nil
}

func (e *Engine) AddMember(ctx context.Context, app, channel string, m hub.Member, conn string) (bool, error) {
	if err := e.check(); err != nil {
		return false, err
	}
	info := string(m.UserInfo)
	if info == "" {
		info = "null"
	}
	f := fact{K: hub.EntryMember, App: app, Ch: channel, User: m.UserID, Conn: conn}
	n, err := addMember.Run(ctx, e.rdb, []string{e.appKey(app, "mconns", channel, m.UserID), e.appKey(app, "members", channel), e.factsKey(conn)}, conn, m.UserID, f.String(), info).Int64()
	return n == 1, err
}

func (e *Engine) RemoveMember(ctx context.Context, app, channel, userID, conn string) (bool, error) {
	if err := e.check(); err != nil {
		return false, err
	}
	return e.removeMember(ctx, fact{K: hub.EntryMember, App: app, Ch: channel, User: userID, Conn: conn})
}

func (e *Engine) removeMember(ctx context.Context, f fact) (bool, error) {
	n, err := removeMember.Run(ctx, e.rdb, []string{e.appKey(f.App, "mconns", f.Ch, f.User), e.appKey(f.App, "members", f.Ch), e.factsKey(f.Conn)}, f.Conn, f.User, f.String()).Int64()
	return n == 1, err
}

func (e *Engine) Members(ctx context.Context, app, channel string) ([]hub.Member, error) {
	if err := e.check(); err != nil {
		return nil, err
	}
	all, err := e.rdb.HGetAll(ctx, e.appKey(app, "members", channel)).Result()
	if err != nil {
		return nil, err
	}
	out := make([]hub.Member, 0, len(all))
	for id, info := range all {
		m := hub.Member{UserID: id}
		if info != "null" && info != "" {
			m.UserInfo = json.RawMessage(info)
		}
		out = append(out, m)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].UserID < out[j].UserID })
	return out, nil
}

func (e *Engine) Channel(ctx context.Context, app, channel string) (hub.Counts, error) {
	if err := e.check(); err != nil {
		return hub.Counts{}, err
	}
	pipe := e.rdb.Pipeline()
	subs := pipe.SCard(ctx, e.appKey(app, "subs", channel))
	users := pipe.HLen(ctx, e.appKey(app, "members", channel))
	if _, err := pipe.Exec(ctx); err != nil {
		return hub.Counts{}, err
	}
	return hub.Counts{Subscriptions: int(subs.Val()), Users: int(users.Val())}, nil
}

func (e *Engine) Channels(ctx context.Context, app, prefix string) (map[string]hub.Counts, error) {
	if err := e.check(); err != nil {
		return nil, err
	}
	names, err := e.rdb.SMembers(ctx, e.appKey(app, "channels")).Result()
	if err != nil {
		return nil, err
	}
	type pending struct{ subs, users *redis.IntCmd }
	pipe := e.rdb.Pipeline()
	cmds := map[string]pending{}
	for _, name := range names {
		if strings.HasPrefix(name, prefix) {
			cmds[name] = pending{pipe.SCard(ctx, e.appKey(app, "subs", name)), pipe.HLen(ctx, e.appKey(app, "members", name))}
		}
	}
	out := make(map[string]hub.Counts, len(cmds))
	if len(cmds) == 0 {
		return out, nil
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, err
	}
	for name, c := range cmds {
		if n := int(c.subs.Val()); n > 0 {
			out[name] = hub.Counts{Subscriptions: n, Users: int(c.users.Val())}
		}
	}
	return out, nil
}

func (e *Engine) AddUser(ctx context.Context, app, userID, conn string) (bool, error) {
	if err := e.check(); err != nil {
		return false, err
	}
	f := fact{K: hub.EntryUser, App: app, User: userID, Conn: conn}
	n, err := addUser.Run(ctx, e.rdb, []string{e.appKey(app, "user", userID), e.factsKey(conn)}, conn, f.String()).Int64()
	return n == 1, err
}

func (e *Engine) RemoveUser(ctx context.Context, app, userID, conn string) (bool, error) {
	if err := e.check(); err != nil {
		return false, err
	}
	return e.removeUser(ctx, fact{K: hub.EntryUser, App: app, User: userID, Conn: conn})
}

func (e *Engine) removeUser(ctx context.Context, f fact) (bool, error) {
	n, err := removeUser.Run(ctx, e.rdb, []string{e.appKey(f.App, "user", f.User), e.factsKey(f.Conn)}, f.Conn, f.String()).Int64()
	return n == 1, err
}

func (e *Engine) OnlineUsers(ctx context.Context, app string, ids []string) (map[string]bool, error) {
	if err := e.check(); err != nil {
		return nil, err
	}
	pipe := e.rdb.Pipeline()
	cmds := make([]*redis.IntCmd, len(ids))
	for i, id := range ids {
		cmds[i] = pipe.SCard(ctx, e.appKey(app, "user", id))
	}
	out := make(map[string]bool, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, err
	}
	for i, id := range ids {
		out[id] = cmds[i].Val() > 0
	}
	return out, nil
}

type cachedJSON struct {
	Event string `json:"e"`
	Data  string `json:"d"`
}

func (e *Engine) SetCache(ctx context.Context, app, channel string, c hub.Cached) error {
	if err := e.check(); err != nil {
		return err
	}
	ttl := time.Until(c.Expires)
	if ttl <= 0 {
		return nil
	}
	b, _ := json.Marshal(cachedJSON{c.Event, c.Data})
	return e.rdb.Set(ctx, e.appKey(app, "cache", channel), b, ttl).Err()
}

func (e *Engine) Cache(ctx context.Context, app, channel string) (hub.Cached, bool, error) {
	if err := e.check(); err != nil {
		return hub.Cached{}, false, err
	}
	pipe := e.rdb.Pipeline()
	get := pipe.Get(ctx, e.appKey(app, "cache", channel))
	ttl := pipe.PTTL(ctx, e.appKey(app, "cache", channel))
	if _, err := pipe.Exec(ctx); err != nil && err != redis.Nil {
		return hub.Cached{}, false, err
	}
	b, err := get.Bytes()
	if err == redis.Nil {
		return hub.Cached{}, false, nil
	}
	if err != nil {
		return hub.Cached{}, false, err
	}
	var c cachedJSON
	if err := json.Unmarshal(b, &c); err != nil {
		return hub.Cached{}, false, err
	}
	return hub.Cached{Event: c.Event, Data: c.Data, Expires: time.Now().Add(ttl.Val())}, true, nil
}
