package redisbroker

import (
	"context"
	"encoding/json"

	"github.com/parleyhq/parley/internal/hub"
)

// envelope is a publication on the wire. Payload is a Pusher frame, which
// is JSON, so it is embedded raw rather than base64-encoded.
type envelope struct {
	Node    string          `json:"n"`
	Kind    hub.PubKind     `json:"k"`
	App     string          `json:"a"`
	Channel string          `json:"c,omitempty"`
	UserID  string          `json:"u,omitempty"`
	Except  string          `json:"x,omitempty"`
	Payload json.RawMessage `json:"p,omitempty"`
}

// Publish sends p to every other node over one pub/sub topic. Redis keeps
// the order of one connection's publishes, and a publisher's calls complete
// in order, so order per publisher and channel holds.
func (e *Engine) Publish(ctx context.Context, p hub.Publication) error {
	if err := e.check(); err != nil {
		return err
	}
	b, err := json.Marshal(envelope{Node: e.opts.NodeID, Kind: p.Kind, App: p.App, Channel: p.Channel, UserID: p.UserID, Except: p.Except, Payload: p.Payload})
	if err != nil {
		return err
	}
	if err := e.rdb.Publish(ctx, e.topic, b).Err(); err != nil {
		return err
	}
	e.published.Add(1)
	return nil
}

// Run receives other nodes' publications until ctx ends. go-redis
// re-subscribes by itself after a lost connection.
func (e *Engine) Run(ctx context.Context, deliver func(hub.Publication)) error {
	sub := e.rdb.Subscribe(ctx, e.topic)
	defer sub.Close()
	ch := sub.Channel()
	for {
		select {
		case <-ctx.Done():
			return nil
		case msg, ok := <-ch:
			if !ok {
				return nil
			}
			var env envelope
			if err := json.Unmarshal([]byte(msg.Payload), &env); err != nil {
				e.log.Warn("redis: dropping malformed publication", "err", err)
				continue
			}
			if env.Node == e.opts.NodeID {
				continue // this node delivered its own publication already
			}
			e.received.Add(1)
			deliver(hub.Publication{Kind: env.Kind, App: env.App, Channel: env.Channel, UserID: env.UserID, Except: env.Except, Payload: env.Payload})
		}
	}
}
