package main

import (
	"context"

	"github.com/parleyhq/parley/internal/hub"
	"github.com/parleyhq/parley/internal/webhook"
)

// openWebhooks starts the webhook sender and makes it the hub's observer.
// It is closed after the hub, so the departures of the final shutdown are
// still reported.
func (m *Main) openWebhooks(hcfg *hub.Config) error {
	s := webhook.New(webhook.Options{
		HoldFor:  m.Config.WebhookVacateDelay,
		RetryFor: m.Config.WebhookRetryFor,
		Logger:   m.Log,
	})
	if err := s.Open(); err != nil {
		return err
	}
	m.webhooks = s
	hcfg.Observer = s
	m.closers = append(m.closers, func(context.Context) error { return s.Close() })
	return nil
}
