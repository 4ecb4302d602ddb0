package main

import (
	"context"
	"errors"

	"github.com/parleyhq/parley/internal/hub"
)

// openCluster chooses the engine that connects nodes: in-memory for one
// node, Redis when PARLEY_REDIS_URL is set.
func (m *Main) openCluster(ctx context.Context, hcfg *hub.Config) error {
	if m.Config.RedisURL == "" {
		hcfg.State = hub.NewMemoryState()
		return nil
	}
	return errors.New("redis: not available in this build yet")
}
