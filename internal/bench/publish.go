package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/parleyhq/parley/internal/pusher"
)

// Publisher sends events through the target's HTTP API: Pusher's signed
// POST /apps/{id}/events, or Centrifugo's POST /api/publish with its key.
type Publisher struct {
	t  *Target
	hc *http.Client
}

// NewPublisher keeps up to conns keep-alive connections to the target.
func NewPublisher(t *Target, conns int) *Publisher {
	tr := &http.Transport{
		MaxIdleConns:        conns,
		MaxIdleConnsPerHost: conns,
		MaxConnsPerHost:     conns,
		IdleConnTimeout:     30 * time.Second,
		DisableCompression:  true,
	}
	return &Publisher{t: t, hc: &http.Client{Transport: tr, Timeout: 10 * time.Second}}
}

// Close drops the idle connections.
func (p *Publisher) Close() { p.hc.CloseIdleConnections() }

// Publish sends data (a JSON object) as event on channel. exceptSocket,
// for Pusher, keeps that connection from receiving it.
func (p *Publisher) Publish(ctx context.Context, channel, event, data, exceptSocket string) error {
	var req *http.Request
	var err error
	if p.t.Protocol == ProtoCentrifugo {
		body := []byte(`{"channel":` + quoteJSON(channel) + `,"data":` + data + `}`)
		req, err = http.NewRequestWithContext(ctx, http.MethodPost, p.t.httpBase()+"/api/publish", bytes.NewReader(body))
		if err != nil {
			return err
		}
		req.Header.Set("X-API-Key", p.t.APIKey)
	} else {
		ev := map[string]any{"name": event, "channels": []string{channel}, "data": data}
		if exceptSocket != "" {
			ev["socket_id"] = exceptSocket
		}
		body, err := json.Marshal(ev)
		if err != nil {
			return err
		}
		path := "/apps/" + p.t.AppID + "/events"
		q := pusher.SignRequest(http.MethodPost, path, nil, body, p.t.AppKey, p.t.AppSecret, time.Now())
		req, err = http.NewRequestWithContext(ctx, http.MethodPost, p.t.httpBase()+path+"?"+q, bytes.NewReader(body))
		if err != nil {
			return err
		}
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := p.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	rb, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("publish: HTTP %d: %s", resp.StatusCode, bytes.TrimSpace(rb))
	}
	if p.t.Protocol == ProtoCentrifugo && bytes.Contains(rb, []byte(`"error"`)) {
		return fmt.Errorf("publish: %s", bytes.TrimSpace(rb))
	}
	return nil
}

func quoteJSON(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// pubStats is what a run of publishes achieved.
type pubStats struct {
	OK, Failed int64
	FirstErr   string
	Start, End time.Time
	HTTP       Hist // request round trip
}

// runPublishes calls fn(i) for i in [0, n) from conc goroutines, at rate
// per second in total (0: as fast as they go). A send that falls behind
// schedule goes at once; the achieved rate is reported, not assumed.
func runPublishes(ctx context.Context, n int, rate float64, conc int, fn func(ctx context.Context, i int) error) *pubStats {
	st := &pubStats{Start: time.Now()}
	var next atomic.Int64
	var errOnce sync.Once
	var wg sync.WaitGroup
	for w := 0; w < max(conc, 1); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n || ctx.Err() != nil {
					return
				}
				if rate > 0 {
					due := st.Start.Add(time.Duration(float64(i) / rate * float64(time.Second)))
					if d := time.Until(due); d > 0 {
						t := time.NewTimer(d)
						select {
						case <-ctx.Done():
							t.Stop()
							return
						case <-t.C:
						}
					}
				}
				t0 := time.Now()
				if err := fn(ctx, i); err != nil {
					st.failed(err, &errOnce)
					continue
				}
				st.HTTP.Record(time.Since(t0))
				atomic.AddInt64(&st.OK, 1)
			}
		}()
	}
	wg.Wait()
	st.End = time.Now()
	return st
}

func (st *pubStats) failed(err error, once *sync.Once) {
	atomic.AddInt64(&st.Failed, 1)
	once.Do(func() { st.FirstErr = err.Error() })
}
