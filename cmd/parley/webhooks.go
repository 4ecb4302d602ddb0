package main

import "github.com/parleyhq/parley/internal/hub"

// openWebhooks starts the webhook sender when any app has webhooks.
func (m *Main) openWebhooks(hcfg *hub.Config) error { return nil }
