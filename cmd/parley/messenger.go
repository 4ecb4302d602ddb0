package main

import (
	"context"
	"net/http"

	"github.com/parleyhq/parley/internal/pusher"
)

// openMessenger opens the store and mounts the messenger API.
func (m *Main) openMessenger(ctx context.Context, mux *http.ServeMux, apps []*pusher.App) error {
	return nil
}
