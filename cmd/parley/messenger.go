package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/parleyhq/parley/internal/api"
	"github.com/parleyhq/parley/internal/auth"
	"github.com/parleyhq/parley/internal/hub"
	"github.com/parleyhq/parley/internal/messenger"
	"github.com/parleyhq/parley/internal/pusher"
	"github.com/parleyhq/parley/internal/sqlstore"
)

// openMessenger opens the store, the service and its HTTP API. Without a
// way to verify bearer tokens (PARLEY_JWT_SECRET or a public key file) the
// messenger is off, except in demo mode, which makes a secret up.
func (m *Main) openMessenger(ctx context.Context, mux *http.ServeMux, apps []*pusher.App) error {
	cfg := m.Config
	secret := cfg.Messenger.JWTSecret
	if secret == "" && cfg.Messenger.JWTPublicKeyFile == "" {
		if !cfg.Demo {
			m.Log.Warn("messenger API disabled: set PARLEY_JWT_SECRET or PARLEY_JWT_PUBLIC_KEY_FILE")
			return nil
		}
		secret = randomSecret()
	}
	m.jwtSecret = []byte(secret)
	acfg, err := auth.LoadConfig(secret, cfg.Messenger.JWTPublicKeyFile)
	if err != nil {
		return err
	}
	acfg.Issuer, acfg.Audience = cfg.Messenger.JWTIssuer, cfg.Messenger.JWTAudience
	verifier, err := auth.New(acfg)
	if err != nil {
		return err
	}
	app, masterKey := cfg.MessengerApp(apps)
	if app == nil {
		return fmt.Errorf("messenger: app %q is not configured", cfg.Messenger.AppID)
	}

	store, err := sqlstore.Open(ctx, cfg.DataDir, cfg.DatabaseURL, sqlstore.Options{Logger: m.Log})
	if err != nil {
		return fmt.Errorf("messenger store: %w", err)
	}
	m.closers = append(m.closers, func(context.Context) error { return store.Close() })

	pub := hubPublisher{hub: m.hub, app: app}
	svc := messenger.NewService(store, messenger.Config{
		MaxContentRunes: cfg.Messenger.MaxMessageRunes,
		Publisher:       pub,
		Presence:        hubPresence{hub: m.hub, app: app},
		WebhookURL:      cfg.Messenger.NotifyURL,
		WebhookSecret:   []byte(cfg.Messenger.NotifySecret),
		NotifyDelay:     cfg.Messenger.NotifyDelay,
		NodeID:          m.hub.NodeID(),
		Logger:          m.Log,
	})
	if err := svc.Open(); err != nil {
		return err
	}
	m.closers = append(m.closers, func(context.Context) error { return svc.Close() })
	m.offline.service.Store(svc)

	a, err := api.New(api.Config{
		Messenger:            svc,
		Verifier:             verifier,
		Publisher:            pub,
		AppKey:               app.Key,
		AppSecret:            app.Secret,
		EncryptionMasterKey:  masterKey,
		TypingTTL:            cfg.Messenger.TypingTTL,
		SendRate:             cfg.Messenger.SendRate,
		SendBurst:            cfg.Messenger.SendBurst,
		MaxChannelNameLength: app.Limits.MaxChannelNameLength,
		MaxWatchlist:         app.Limits.MaxWatchlist,
		Logger:               m.Log,
	})
	if err != nil {
		return err
	}
	m.closers = append(m.closers, func(context.Context) error { return a.Close() })
	mux.Handle("/api/", a)
	if err := m.openAttachments(ctx, mux, svc, verifier); err != nil {
		return err
	}
	mux.HandleFunc("GET /api/v1/config", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, map[string]any{"appKey": app.Key, "demo": cfg.Demo})
	})
	if cfg.Demo {
		if err := m.seedDemo(ctx, mux, svc); err != nil {
			return fmt.Errorf("demo: %w", err)
		}
	}
	return nil
}

func randomSecret() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// hubPublisher lets the messenger publish through the engine.
type hubPublisher struct {
	hub *hub.Hub
	app *pusher.App
}

func (p hubPublisher) Publish(ctx context.Context, channels []string, event string, data []byte) error {
	// The engine takes at most 100 channels per event, like Pusher.
	for len(channels) > 0 {
		n := min(len(channels), 100)
		if err := p.hub.Publish(ctx, p.app, hub.Event{Name: event, Channels: channels[:n], Data: string(data)}); err != nil {
			return err
		}
		channels = channels[n:]
	}
	return nil
}

// hubPresence answers the messenger's "is this user online" from the
// engine's cluster-wide state.
type hubPresence struct {
	hub *hub.Hub
	app *pusher.App
}

func (p hubPresence) Online(userID string) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	online, err := p.hub.Online(ctx, p.app, userID)
	return err == nil && online
}

// offlineTracker records lastSeen when a user's last connection closes:
// their last signed-in connection, or their last membership of their own
// presence-user-{id} channel. The service is set once the messenger opens,
// after the hub that reports to it exists.
type offlineTracker struct {
	service atomic.Pointer[messenger.Service]
	next    hub.Observer
	log     interface{ Warn(string, ...any) }
}

func (t *offlineTracker) Observe(app *pusher.App, e pusher.WebhookEvent) {
	if t.next != nil {
		t.next.Observe(app, e)
	}
	if e.Name == pusher.HookMemberRemoved && e.Channel == "presence-user-"+e.UserID {
		t.UserOffline(app, e.UserID)
	}
}

func (t *offlineTracker) UserOffline(_ *pusher.App, userID string) {
	svc := t.service.Load()
	if svc == nil {
		return
	}
	// The hub must not wait for the database.
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := svc.UserWentOffline(ctx, userID, time.Now()); err != nil && !errors.Is(err, context.Canceled) {
			t.log.Warn("recording last seen failed", "err", err)
		}
	}()
}
