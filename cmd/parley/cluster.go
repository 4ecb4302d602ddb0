package main

import (
	"context"
	"fmt"

	"github.com/parleyhq/parley/internal/hub"
	"github.com/parleyhq/parley/internal/pusher"
	"github.com/parleyhq/parley/internal/redisbroker"
)

// openCluster chooses the engine that connects nodes: in-memory for one
// node, Redis when PARLEY_REDIS_URL is set.
func (m *Main) openCluster(ctx context.Context, hcfg *hub.Config) error {
	if m.Config.RedisURL == "" {
		hcfg.State = hub.NewMemoryState()
		return nil
	}
	if hcfg.NodeID == "" {
		hcfg.NodeID = pusher.NewSocketID()
	}
	e, err := redisbroker.Open(ctx, redisbroker.Options{URL: m.Config.RedisURL, NodeID: hcfg.NodeID, Logger: m.Log})
	if err != nil {
		return fmt.Errorf("cluster: %w", err)
	}
	hcfg.State, hcfg.Broker = e, e
	m.redis = e
	m.closers = append(m.closers, func(context.Context) error { return e.Close() })
	return nil
}

// wireCluster lets the Redis engine announce departures through the hub.
func (m *Main) wireCluster(h *hub.Hub) {
	if m.redis != nil {
		m.redis.SetHooks(redisbroker.Hooks{Forget: h.Forget, Entries: h.Entries, Arrived: h.Arrived})
	}
}
