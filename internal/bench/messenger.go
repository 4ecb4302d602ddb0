package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// runMessenger measures Parley's messenger end to end: o.Conns threads
// between a patient and a provider, created through the REST API with a
// service token; both participants connected and subscribed to
// private-thread-{id}; o.Publishes persisted sends through
// POST /api/v1/threads/{id}/messages, the two sides taking turns, each
// with the user's own bearer token. Latency runs from the request to the
// new-message event at the other participant, so it includes the commit.
// Parley bounds each user's sends (10/s by default): keep the rate under
// 20 × threads per second or the excess is refused with 429 and counted.
func runMessenger(ctx context.Context, o Options) (*Result, error) {
	if o.Target.Protocol != ProtoPusher || o.Target.JWTSecret == "" {
		return nil, fmt.Errorf("messenger: needs a Parley target and its JWT secret (-jwt-secret or PARLEY_JWT_SECRET)")
	}
	if o.Conns*2 > PerProcess {
		return nil, fmt.Errorf("messenger: at most %d threads in one process", PerProcess/2)
	}
	r := newResult("messenger", &o.Target, map[string]any{
		"threads": o.Conns, "sends": o.Publishes, "rate": o.Rate, "payload": o.Payload, "pub_conc": o.PubConc,
	})
	api := &restClient{t: &o.Target, hc: &http.Client{
		Timeout:   15 * time.Second,
		Transport: &http.Transport{MaxIdleConnsPerHost: max(o.PubConc, 8), MaxConnsPerHost: max(o.PubConc, 8)},
	}}
	defer api.hc.CloseIdleConnections()
	user := func(idx int) (id, role string) {
		if idx%2 == 0 {
			return fmt.Sprintf("bench-patient-%d", idx/2), "patient"
		}
		return fmt.Sprintf("bench-provider-%d", idx/2), "provider"
	}
	tokens := make([]string, 2*o.Conns)
	for i := range tokens {
		id, role := user(i)
		tok, err := api.token(id, role)
		if err != nil {
			return nil, err
		}
		tokens[i] = tok
	}
	service, err := api.token("bench-service", "service")
	if err != nil {
		return nil, err
	}
	threads, err := api.createThreads(ctx, service, o.Conns, user)
	if err != nil {
		return nil, err
	}
	channel := func(thread int) string { return "private-thread-" + threads[thread] }
	cap := seqCap(o.Publishes, 2*o.Conns)
	p, took := connectPool(ctx, &o.Target, 2*o.Conns, 64, o.SourceIPs, func(ctx context.Context, m *member) error {
		if cap > 0 {
			m.sub.seen = make([]uint64, (cap+63)/64)
		}
		return m.c.Subscribe(ctx, channel(m.idx/2), "")
	})
	defer p.close()
	p.fillConnect(r, took)
	p.run(func(m *member, msg Msg) {
		if msg.Kind == MsgBench && msg.Stamp.Writer != int64(m.idx) && bytes.Contains(msg.Raw, []byte(`"new-message"`)) {
			p.recv.record(&m.sub, msg)
		}
	})

	meter := startMeter(o.Target.ServerPID)
	st := runPublishes(ctx, o.Publishes, o.Rate, o.PubConc, func(ctx context.Context, i int) error {
		thread := i % o.Conns
		writer := 2*thread + (i/o.Conns)%2
		content := payload(stamp{Seq: int64(i), SentAt: nowNano(), Writer: int64(writer)}, o.Payload)
		body, _ := json.Marshal(map[string]string{"clientId": fmt.Sprintf("bench-%d-%d", time.Now().UnixNano(), i), "content": content})
		_, err := api.do(ctx, http.MethodPost, "/api/v1/threads/"+threads[thread]+"/messages", tokens[writer], body)
		return err
	})
	waitDrain(ctx, p.recv.Deliveries.Load, st.OK, 2*time.Second, 30*time.Second)
	r.CPU = meter.stop(0)
	fillPublish(r, st)
	r.finishDeliveries(p.recv.report(), st.OK, st.Start)
	return r, nil
}

// restClient calls Parley's messenger REST API with bearer tokens.
type restClient struct {
	t  *Target
	hc *http.Client
}

func (a *restClient) token(sub, role string) (string, error) {
	return jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
		"sub": sub, "role": role, "name": sub, "exp": time.Now().Add(2 * time.Hour).Unix(),
	}).SignedString([]byte(a.t.JWTSecret))
}

func (a *restClient) do(ctx context.Context, method, path, token string, body []byte) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, a.t.httpBase()+path, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := a.hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	rb, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode/100 != 2 {
		return nil, fmt.Errorf("%s %s: HTTP %d: %.200s", method, path, resp.StatusCode, bytes.TrimSpace(rb))
	}
	return rb, nil
}

// createThreads opens n threads, one patient and one provider each, with
// a service token, and returns their ids.
func (a *restClient) createThreads(ctx context.Context, service string, n int, user func(int) (string, string)) ([]string, error) {
	ids := make([]string, n)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var first error
	sem := make(chan struct{}, 8)
	for i := 0; i < n; i++ {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			var parts []map[string]string
			for _, idx := range []int{2 * i, 2*i + 1} {
				id, role := user(idx)
				parts = append(parts, map[string]string{"id": id, "role": role, "name": id})
			}
			body, _ := json.Marshal(map[string]any{"subject": fmt.Sprintf("bench thread %d", i), "participants": parts})
			rb, err := a.do(ctx, http.MethodPost, "/api/v1/threads", service, body)
			var t struct {
				ID string `json:"id"`
			}
			if err == nil {
				err = json.Unmarshal(rb, &t)
			}
			if err == nil && t.ID == "" {
				err = fmt.Errorf("create thread: no id in %.200s", rb)
			}
			mu.Lock()
			defer mu.Unlock()
			if err != nil && first == nil {
				first = err
			}
			ids[i] = t.ID
		}()
	}
	wg.Wait()
	if first != nil {
		return nil, fmt.Errorf("messenger: creating threads: %w", first)
	}
	return ids, nil
}
