package messenger

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"
)

// SignatureHeader carries the hex HMAC-SHA256 of the webhook body keyed by
// Config.WebhookSecret.
const SignatureHeader = "X-Parley-Signature"

// WebhookEvent is the body of an offline notification. It carries ids only:
// it leaves the PHI boundary, so no content and no names.
type WebhookEvent struct {
	ID        string    `json:"id"` // stable per (notification, seq): receivers dedupe on it
	Type      string    `json:"type"`
	UserID    string    `json:"userId"`
	ThreadID  string    `json:"threadId"`
	MessageID string    `json:"messageId"`
	Seq       int64     `json:"seq"`
	Unread    int64     `json:"unread"`
	SentAt    time.Time `json:"sentAt"`
}

// Sign returns the hex HMAC-SHA256 of body under secret, as sent in
// SignatureHeader.
func Sign(secret, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

// notifier sends due offline notifications. Rows are claimed with a lease
// (once cluster-wide), then dropped if the user has read the message or is
// online, sent otherwise; failures are rescheduled with exponential backoff
// and, after NotifyMaxAttempts, kept as failed.
type notifier struct{ s *Service }

const notifyLease = time.Minute

func (n *notifier) run(ctx context.Context) {
	t := time.NewTicker(n.s.cfg.NotifyPoll)
	defer t.Stop()
	for {
		if err := n.round(ctx); err != nil && ctx.Err() == nil {
			n.s.log.Error("offline notifier", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (n *notifier) round(ctx context.Context) error {
	s := n.s
	due, err := s.store.ClaimNotifications(ctx, s.cfg.NodeID, s.cfg.Now(), notifyLease, 100)
	if err != nil {
		return err
	}
	for _, d := range due {
		if ctx.Err() != nil {
			return nil // leased rows are taken over after the lease
		}
		n.one(ctx, d)
	}
	return nil
}

func (n *notifier) one(ctx context.Context, d Notification) {
	s := n.s
	log := s.log.With("notification", d.ID, "thread", d.ThreadID, "user", d.UserID, "seq", d.Seq)
	var (
		read   bool
		unread int64
	)
	err := s.store.Read(ctx, func(ctx context.Context, tx Tx) error {
		r, err := tx.GetReceipt(ctx, d.ThreadID, d.UserID)
		if err != nil {
			return err
		}
		if read = r.Seq >= d.Seq; !read {
			unread, err = tx.CountUnread(ctx, d.ThreadID, d.UserID, r.Seq)
		}
		return err
	})
	if ErrorCode(err) == ENOTFOUND {
		read = true // no longer a participant: nothing to tell
	} else if err != nil {
		log.Error("offline notification check failed", "err", err)
		return
	}
	if read || unread == 0 || (s.cfg.Presence != nil && s.cfg.Presence.Online(d.UserID)) {
		s.stats.webhooksSkipped.Add(1)
		n.complete(ctx, d, log)
		return
	}
	ev := WebhookEvent{ID: strconv.FormatInt(d.ID, 10) + "-" + strconv.FormatInt(d.Seq, 10), Type: "message.unread",
		UserID: d.UserID, ThreadID: d.ThreadID, MessageID: d.MessageID, Seq: d.Seq, Unread: unread, SentAt: s.now()}
	if err := n.post(ctx, ev); err != nil {
		s.stats.webhookErrors.Add(1)
		attempts := d.Attempts + 1
		failed := attempts >= s.cfg.NotifyMaxAttempts
		next := s.cfg.Now().Add(retryDelay(attempts, s.cfg.NotifyRetryBase, s.cfg.NotifyRetryMax))
		if failed {
			s.stats.webhooksFailed.Add(1)
			log.Error("offline notification failed for good; kept in database", "attempts", attempts, "err", err)
		} else {
			log.Warn("offline notification failed; will retry", "attempts", attempts, "next", next, "err", err)
		}
		if err := s.store.RetryNotification(context.WithoutCancel(ctx), d.ID, attempts, next, failed); err != nil {
			log.Error("offline notification reschedule failed", "err", err)
		}
		return
	}
	s.stats.webhooksSent.Add(1)
	n.complete(ctx, d, log)
}

func (n *notifier) complete(ctx context.Context, d Notification, log interface{ Error(string, ...any) }) {
	if err := n.s.store.CompleteNotification(context.WithoutCancel(ctx), d.ID, d.Seq); err != nil {
		log.Error("offline notification completion failed", "err", err)
	}
}

// retryDelay doubles from base per attempt, up to max.
func retryDelay(attempts int, base, max time.Duration) time.Duration {
	d := base
	for i := 1; i < attempts && d < max; i++ {
		d *= 2
	}
	return min(d, max)
}

func (n *notifier) post(ctx context.Context, ev WebhookEvent) error {
	body, err := json.Marshal(ev)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, n.s.cfg.WebhookURL, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(SignatureHeader, Sign(n.s.cfg.WebhookSecret, body))
	req.Header.Set("X-Parley-Event-Id", ev.ID)
	resp, err := n.s.cfg.HTTPClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("webhook answered %d", resp.StatusCode)
	}
	return nil
}
