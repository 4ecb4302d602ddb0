package cluster

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/parleyhq/parley/internal/auth"
	"github.com/parleyhq/parley/internal/pushertest"
)

// pgAdminURL is the machine's PostgreSQL (trust auth); each test creates
// and drops its own database there.
const pgAdminURL = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

const jwtSecret = "cluster-test-secret-0123456789abcdef"

// freshDatabase creates an empty database and drops it when the test ends.
func freshDatabase(t *testing.T) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, pgAdminURL)
	if err != nil {
		t.Fatalf("PostgreSQL at %s: %v (scripts/start-services.sh starts it)", pgAdminURL, err)
	}
	defer conn.Close(context.Background())
	name := fmt.Sprintf("parley_cluster_%d", time.Now().UnixNano())
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		c, err := pgx.Connect(ctx, pgAdminURL)
		if err != nil {
			t.Errorf("dropping %s: %v", name, err)
			return
		}
		defer c.Close(context.Background())
		if _, err := c.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("dropping %s: %v", name, err)
		}
	})
	return fmt.Sprintf("postgres://postgres@127.0.0.1:5432/%s?sslmode=disable", name)
}

// bearer issues a token the nodes accept.
func bearer(t *testing.T, sub string, role auth.Role) string {
	t.Helper()
	tok, err := auth.Issue([]byte(jwtSecret), sub, role, sub, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// rest calls the messenger API on a node with a bearer token.
func (n *node) rest(token, method, path string, body any) (int, []byte, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, n.url(path), rd)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

// Concurrent sends to one thread through different nodes on one
// PostgreSQL get gapless, unique sequence numbers, and every subscriber,
// whatever its node, receives each new-message exactly once.
func TestMessengerAcrossNodes(t *testing.T) {
	r := startRedis(t)
	db := freshDatabase(t)
	var nodes []*node
	for _, name := range []string{"A", "B", "C"} {
		nodes = append(nodes, startNode(t, name, nodeOptions{RedisURL: r.url(), DatabaseURL: db, JWTSecret: jwtSecret}))
	}
	svc := bearer(t, "backend", auth.RoleService)
	if status, _, err := nodes[0].rest(svc, http.MethodGet, "/api/v1/threads", nil); err != nil || status == http.StatusNotFound {
		t.Skipf("the messenger is not wired into cmd/parley yet (GET /api/v1/threads: %d, %v)", status, err)
	}

	status, body, err := nodes[0].rest(svc, http.MethodPost, "/api/v1/threads", map[string]any{
		"subject": "follow-up",
		"participants": []map[string]string{
			{"id": "doc1", "role": "provider", "name": "Dr One"},
			{"id": "pat1", "role": "patient", "name": "Pat One"},
		},
	})
	if err != nil || status != http.StatusCreated {
		t.Fatalf("create thread: %d %s %v", status, body, err)
	}
	var thread struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(body, &thread); err != nil || thread.ID == "" {
		t.Fatalf("create thread answered %s", body)
	}
	channel := "private-thread-" + thread.ID
	var subs []*client
	for _, n := range nodes {
		c := dial(t, n, "reader"+n.name)
		c.subscribe(channel)
		subs = append(subs, c)
	}

	// Two users send through all three nodes at once.
	const perSender = 8
	type sent struct {
		ID  string `json:"id"`
		Seq int64  `json:"seq"`
	}
	var (
		mu   sync.Mutex
		all  []sent
		errs []string
		wg   sync.WaitGroup
	)
	for _, n := range nodes {
		for _, user := range []struct {
			id   string
			role auth.Role
		}{{"doc1", auth.RoleProvider}, {"pat1", auth.RolePatient}} {
			tok := bearer(t, user.id, user.role)
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range perSender {
					body := map[string]string{"clientId": fmt.Sprintf("%s-%s-%d", n.name, user.id, i), "content": "hello"}
					status, b, err := n.rest(tok, http.MethodPost, "/api/v1/threads/"+thread.ID+"/messages", body)
					var m sent
					mu.Lock()
					if err != nil || status != http.StatusCreated || json.Unmarshal(b, &m) != nil {
						errs = append(errs, fmt.Sprintf("%s via %s: %d %s %v", user.id, n.name, status, b, err))
					} else {
						all = append(all, m)
					}
					mu.Unlock()
				}
			}()
		}
	}
	wg.Wait()
	if len(errs) > 0 {
		t.Fatalf("sends failed:\n%v", errs)
	}
	total := len(nodes) * 2 * perSender
	sort.Slice(all, func(i, j int) bool { return all[i].Seq < all[j].Seq })
	for i, m := range all {
		if m.Seq != int64(i+1) {
			t.Fatalf("seq #%d is %d: not gapless and unique; all: %v", i+1, m.Seq, all)
		}
	}
	if len(all) != total {
		t.Fatalf("%d messages stored, want %d", len(all), total)
	}

	isNew := func(f pushertest.Frame) bool { return f.Event == "new-message" && f.Channel == channel }
	for _, c := range subs {
		last := fmt.Sprint(total)
		c.WaitFor("new-message seq "+last, func(f pushertest.Frame) bool {
			var m sent
			return isNew(f) && f.Decode(&m) == nil && m.Seq == int64(total)
		})
	}
	// The relay publishes after commit; the highest seq may not be the last
	// published, so wait for all of them before fencing.
	for _, c := range subs {
		waitUntil(t, c.name+" to receive every new-message", func() bool { return c.Count(isNew) >= total })
	}
	fence(t, nodes, channel, subs...)
	for _, c := range subs {
		seen := map[string]int{}
		for _, f := range c.Frames() {
			var m sent
			if isNew(f) && f.Decode(&m) == nil {
				seen[m.ID]++
			}
		}
		for _, m := range all {
			if seen[m.ID] != 1 {
				t.Errorf("%s on %s: new-message %s (seq %d) received %d times, want 1", c.name, c.node.name, m.ID, m.Seq, seen[m.ID])
			}
		}
	}
}
