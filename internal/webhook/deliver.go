package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"time"

	"github.com/parleyhq/parley/internal/pusher"
)

// workerKey is one receiver: batches never mix apps, whose keys differ.
type workerKey struct {
	app, url string
	batch    bool
}

// item is one queued event with the credentials of the app it belongs to
// (captured at Observe time so a config reload cannot mix them).
type item struct {
	key, secret string
	e           pusher.WebhookEvent
}

// worker delivers one receiver's events in order, one POST at a time.
type worker struct {
	s   *Sender
	key workerKey
	q   chan item
}

func (w *worker) run() {
	defer w.s.wg.Done()
	ctx := w.s.ctx
	for it := range w.q {
		if ctx.Err() != nil {
			// Close stopped waiting: count the rest instead of trying.
			w.s.stats.failed.Add(1)
			continue
		}
		batch := []item{it}
		if w.key.batch {
			batch = w.gather(ctx, batch)
		}
		// Events of one app share credentials unless the app was
		// reloaded mid-batch; split there so each POST has one signer.
		for len(batch) > 0 {
			n := 1
			for n < len(batch) && batch[n].key == batch[0].key && batch[n].secret == batch[0].secret {
				n++
			}
			w.post(ctx, batch[:n])
			batch = batch[n:]
		}
	}
}

// gather collects more events for up to BatchWindow or MaxBatch.
func (w *worker) gather(ctx context.Context, batch []item) []item {
	t := time.NewTimer(w.s.opts.BatchWindow)
	defer t.Stop()
	for len(batch) < w.s.opts.MaxBatch {
		select {
		case it, ok := <-w.q:
			if !ok {
				return batch
			}
			batch = append(batch, it)
		case <-t.C:
			return batch
		case <-ctx.Done():
			return batch
		}
	}
	return batch
}

// post delivers one body, retrying with backoff until RetryFor has passed.
func (w *worker) post(ctx context.Context, batch []item) {
	s := w.s
	events := make([]pusher.WebhookEvent, len(batch))
	for i, it := range batch {
		events[i] = it.e
	}
	body, err := encodeBody(pusher.WebhookBody{TimeMs: s.opts.Now().UnixMilli(), Events: events})
	if err != nil { // cannot happen for these plain types; never retry it
		s.stats.failed.Add(int64(len(batch)))
		return
	}
	sig := pusher.SignBytes(batch[0].secret, body)
	start := time.Now()
	for attempt := 1; ; attempt++ {
		err = w.attempt(ctx, batch[0].key, sig, body)
		if err == nil {
			s.stats.posts.Add(1)
			s.stats.delivered.Add(int64(len(batch)))
			return
		}
		delay := backoff(attempt, s.opts.RetryBase, s.opts.RetryMax, rand.Float64())
		if ctx.Err() != nil || time.Since(start)+delay > s.opts.RetryFor {
			w.abandon(events, attempt, err)
			return
		}
		s.stats.retries.Add(1)
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			w.abandon(events, attempt, ctx.Err())
			return
		}
	}
}

// abandon logs and counts a delivery given up. Only event names and
// channels are logged: client_event data may carry PHI.
func (w *worker) abandon(events []pusher.WebhookEvent, attempts int, err error) {
	names := make([]string, len(events))
	channels := make([]string, len(events))
	for i, e := range events {
		names[i], channels[i] = e.Name, e.Channel
	}
	w.s.opts.Logger.Warn("webhook delivery abandoned",
		"app", w.key.app, "url", redact(w.key.url), "attempts", attempts,
		"events", names, "channels", channels, "err", err)
	w.s.stats.failed.Add(int64(len(events)))
}

// attempt makes one POST; any status but 2xx is a failure.
func (w *worker) attempt(ctx context.Context, key, sig string, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.key.url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	// Exactly these values: the node SDK compares Content-Type with ===.
	req.Header["Content-Type"] = []string{"application/json"}
	req.Header["X-Pusher-Key"] = []string{key}
	req.Header["X-Pusher-Signature"] = []string{sig}
	req.Header.Set("User-Agent", "parley-webhook")
	resp, err := w.s.client.Do(req)
	if err != nil {
		return err
	}
	// Drain a little so the connection can be reused.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("receiver answered %d", resp.StatusCode)
	}
	return nil
}

// backoff is the delay before retry n (1-based): base·2^(n-1) capped at
// limit, minus up to 25 % jitter (r in [0,1)). Keeping jitter under half
// the step makes successive delays strictly grow until the cap while
// still spreading receivers that failed together.
func backoff(n int, base, limit time.Duration, r float64) time.Duration {
	d := base
	for i := 1; i < n && d < limit; i++ {
		d *= 2
	}
	if d > limit {
		d = limit
	}
	return d - time.Duration(float64(d)*0.25*r)
}

// encodeBody marshals without HTML escaping, so data reaches receivers as
// the client sent it; the signature covers these exact bytes.
func encodeBody(b pusher.WebhookBody) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(b); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// redact keeps a URL's scheme, host and path: credentials and tokens in
// user info or the query stay out of logs.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparseable url)"
	}
	u.User, u.RawQuery, u.Fragment = nil, "", ""
	return u.String()
}
