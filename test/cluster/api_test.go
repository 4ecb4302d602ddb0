package cluster

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/pusher"
	"github.com/parleyhq/parley/internal/pushertest"
)

var httpClient = &http.Client{Timeout: 10 * time.Second}

// api sends a request to the node's HTTP API signed as the SDKs sign it and
// returns the status and body.
func (n *node) api(t *testing.T, method, path string, params pusher.Query, body []byte) (int, []byte) {
	t.Helper()
	status, b, err := app.Do(context.Background(), n.url(""), method, path, params, body)
	if err != nil {
		t.Fatalf("%s %s on %s: %v", method, path, n.name, err)
	}
	return status, b
}

// publish triggers one event through node n and requires 200.
func (n *node) publish(t *testing.T, channel, event, data string) {
	t.Helper()
	if err := n.tryPublish(channel, event, data); err != nil {
		t.Fatal(err)
	}
}

// tryPublish is publish for goroutines other than the test's.
func (n *node) tryPublish(channel, event, data string) error {
	const path = "/apps/" + appID + "/events"
	body, _ := json.Marshal(map[string]any{"name": event, "channel": channel, "data": data})
	status, b, err := app.Do(context.Background(), n.url(""), http.MethodPost, path, nil, body)
	if err != nil {
		return fmt.Errorf("publish on %s: %w", n.name, err)
	}
	if status != http.StatusOK {
		return fmt.Errorf("publish on %s: %d %s", n.name, status, b)
	}
	return nil
}

// getJSON sends a signed GET and decodes a 200 answer into v.
func (n *node) getJSON(t *testing.T, path string, params pusher.Query, v any) {
	t.Helper()
	status, b := n.api(t, http.MethodGet, path, params, nil)
	if status != http.StatusOK {
		t.Fatalf("GET %s on %s: %d %s", path, n.name, status, b)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("GET %s on %s: %v in %s", path, n.name, err, b)
	}
}

// users returns the sorted user ids of a presence channel as node n sees
// the cluster.
func (n *node) users(t *testing.T, channel string) []string {
	t.Helper()
	var out struct {
		Users []struct {
			ID string `json:"id"`
		} `json:"users"`
	}
	n.getJSON(t, "/apps/"+appID+"/channels/"+channel+"/users", nil, &out)
	ids := make([]string, 0, len(out.Users))
	for _, u := range out.Users {
		ids = append(ids, u.ID)
	}
	sort.Strings(ids)
	return ids
}

// channelInfo is GET /channels/{c}?info=user_count,subscription_count.
type channelInfo struct {
	Occupied          bool `json:"occupied"`
	UserCount         int  `json:"user_count"`
	SubscriptionCount int  `json:"subscription_count"`
}

func (n *node) channel(t *testing.T, channel string) channelInfo {
	t.Helper()
	info := "subscription_count"
	if strings.HasPrefix(channel, "presence-") {
		info = "user_count,subscription_count"
	}
	var ci channelInfo
	n.getJSON(t, "/apps/"+appID+"/channels/"+channel, pusher.Query{"info": info}, &ci)
	return ci
}

// channels is GET /channels?filter_by_prefix=…&info=….
func (n *node) channels(t *testing.T, prefix string) map[string]channelInfo {
	t.Helper()
	params := pusher.Query{"info": "subscription_count"}
	if prefix != "" {
		params["filter_by_prefix"] = prefix
	}
	if strings.HasPrefix(prefix, "presence-") {
		params["info"] = "user_count,subscription_count"
	}
	var out struct {
		Channels map[string]channelInfo `json:"channels"`
	}
	n.getJSON(t, "/apps/"+appID+"/channels", params, &out)
	return out.Channels
}

var fenceSeq atomic.Int64

// fence makes "nothing more will arrive" observable without sleeping. The
// nodes publish through one Redis topic, which Redis delivers to every
// node in the order it accepted the publishes, and a node delivers its own
// events locally before its API call or frame handling returns. So once a
// client has received a marker published after some action completed, on
// a node other than its own, it has received everything that action sent
// it. fence publishes one marker through every node on channel (a channel
// each client is subscribed to, or its #server-to-user- channel) and waits
// until every client has all markers from the other nodes.
func fence(t *testing.T, nodes []*node, channel string, clients ...*client) {
	t.Helper()
	id := fmt.Sprintf("fence-%d", fenceSeq.Add(1))
	for _, n := range nodes {
		n.publish(t, channel, "fence", id+"@"+n.name)
	}
	for _, c := range clients {
		for _, n := range nodes {
			if n == c.node {
				continue
			}
			want := id + "@" + n.name
			c.WaitFor("fence "+want, func(f pushertest.Frame) bool { return f.Event == "fence" && f.DataString() == want })
		}
	}
}

// connections reads the node's parley_connections gauge from /metrics.
func (n *node) connections(t *testing.T) int {
	t.Helper()
	resp, err := httpClient.Get(n.url("/metrics"))
	if err != nil {
		t.Fatalf("GET /metrics on %s: %v", n.name, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "parley_connections "); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil {
				t.Fatalf("parley_connections on %s: %q", n.name, line)
			}
			return int(f)
		}
	}
	t.Fatalf("no parley_connections gauge on %s", n.name)
	return 0
}
