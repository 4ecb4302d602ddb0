package cluster

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/parleyhq/parley/internal/pushertest"
)

// app signs subscriptions, sign-ins and API requests for the default app.
var app = pushertest.App{ID: appID, Key: appKey, Secret: appSecret}

// client is a raw protocol-7 connection to one node. It keeps every frame
// it receives so tests can count, not only wait; name and node label it
// in failure messages and let fence skip the client's own node.
type client struct {
	*pushertest.Client
	t    *testing.T
	name string
	node *node
}

// dial connects to a node and waits for pusher:connection_established.
func dial(t *testing.T, n *node, name string) *client {
	t.Helper()
	c := pushertest.Connect(t, "ws://"+n.addr, appKey,
		pushertest.WithName(name+" on "+n.name), pushertest.WithTimeout(waitTimeout))
	return &client{Client: c, t: t, name: name, node: n}
}

// userOf returns user_id of a member_added or member_removed frame.
func userOf(f pushertest.Frame) string {
	var m struct {
		UserID string `json:"user_id"`
	}
	_ = f.Decode(&m)
	return m.UserID
}

// subscribe subscribes to a channel, signing private and presence ones,
// and returns pusher_internal:subscription_succeeded.
func (c *client) subscribe(channel string) pushertest.Frame {
	c.t.Helper()
	return c.subscribeData(channel, "")
}

// joinPresence subscribes as a member with the given user id.
func (c *client) joinPresence(channel, userID string) pushertest.Frame {
	c.t.Helper()
	cd := fmt.Sprintf(`{"user_id":%q,"user_info":{"name":%q}}`, userID, "user "+userID)
	return c.subscribeData(channel, cd)
}

// pusherAuth signs a subscription for c as an app server would.
func pusherAuth(c *client, channel, channelData string) string {
	return app.ChannelAuth(c.SocketID, channel, channelData)
}

func (c *client) subscribeData(channel, channelData string) pushertest.Frame {
	c.t.Helper()
	auth := ""
	if strings.HasPrefix(channel, "private-") || strings.HasPrefix(channel, "presence-") {
		auth = pusherAuth(c, channel, channelData)
	}
	return c.MustSubscribe(channel, auth, channelData)
}

// signin signs the connection in as userID watching watchlist.
func (c *client) signin(userID string, watchlist ...string) {
	c.t.Helper()
	ud := map[string]any{"id": userID}
	if len(watchlist) > 0 {
		ud["watchlist"] = watchlist
	}
	b, _ := json.Marshal(ud)
	app.Signin(c.Client, string(b))
}

// isMember matches member_added or member_removed of user on channel.
func isMember(event, channel, user string) func(pushertest.Frame) bool {
	return func(f pushertest.Frame) bool { return f.Event == event && f.Channel == channel && userOf(f) == user }
}

// watchlistHas matches a watchlist frame that reports user with name
// ("online" or "offline").
func watchlistHas(name, user string) func(pushertest.Frame) bool {
	return func(f pushertest.Frame) bool {
		if f.Event != "pusher_internal:watchlist_events" {
			return false
		}
		var d struct {
			Events []struct {
				Name    string   `json:"name"`
				UserIDs []string `json:"user_ids"`
			} `json:"events"`
		}
		if f.Decode(&d) != nil {
			return false
		}
		for _, e := range d.Events {
			if e.Name != name {
				continue
			}
			for _, id := range e.UserIDs {
				if id == user {
					return true
				}
			}
		}
		return false
	}
}
