package config

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/parleyhq/parley/internal/pusher"
)

// Config is everything `parley serve` needs. Units are in the names or the
// types; defaults are in Default.
type Config struct {
	Addr    string `yaml:"addr"`
	DataDir string `yaml:"data_dir"`
	// WSPathPrefix is put before /app/{key} (pusher-js wsPath).
	WSPathPrefix string `yaml:"ws_path_prefix"`

	// The default app, used when the file declares no apps.
	AppID     string `yaml:"app_id"`
	AppKey    string `yaml:"app_key"`
	AppSecret string `yaml:"app_secret"`
	Apps      []App  `yaml:"apps"`

	ActivityTimeout    time.Duration `yaml:"activity_timeout"`
	PongTimeout        time.Duration `yaml:"pong_timeout"`
	WebhookVacateDelay time.Duration `yaml:"webhook_vacate_delay"`
	WebhookRetryFor    time.Duration `yaml:"webhook_retry_for"`
	ShutdownTimeout    time.Duration `yaml:"shutdown_timeout"`
	MaxMessageBytes    int           `yaml:"max_ws_message_bytes"`
	SendQueue          int           `yaml:"send_queue"`

	LogLevel  string `yaml:"log_level"`
	LogFormat string `yaml:"log_format"` // json or text

	// CORSOrigins lists, comma-separated, the browser origins allowed to
	// call the messenger's /api/ endpoints from another origin ("*": any).
	CORSOrigins string `yaml:"cors_origins"`

	// Scale-out: empty means embedded (in-memory fan-out, SQLite).
	RedisURL    string `yaml:"redis_url"`
	DatabaseURL string `yaml:"database_url"`
	NodeID      string `yaml:"node_id"`

	Messenger Messenger `yaml:"messenger"`
	Blob      Blob      `yaml:"blob"`

	Demo bool `yaml:"demo"`
}

// App is one app in the config file.
type App struct {
	ID                           string        `yaml:"id"`
	Key                          string        `yaml:"key"`
	Secret                       string        `yaml:"secret"`
	Enabled                      *bool         `yaml:"enabled"`
	ClientEvents                 *bool         `yaml:"client_events"`
	UserAuthentication           *bool         `yaml:"user_authentication"`
	Watchlist                    *bool         `yaml:"watchlist"`
	SubscriptionCount            bool          `yaml:"subscription_count"`
	AuthorizedConnectionsTimeout time.Duration `yaml:"authorized_connections_timeout"`
	EncryptionMasterKey          string        `yaml:"encryption_master_key"` // base64; for the messenger's auth endpoint only
	Webhooks                     []Webhook     `yaml:"webhooks"`
	Limits                       Limits        `yaml:"limits"`
}

// Webhook is one webhook receiver.
type Webhook struct {
	URL        string   `yaml:"url"`
	EventTypes []string `yaml:"event_types"`
	Batch      bool     `yaml:"batch"`
}

// Limits override pusher.DefaultLimits field by field; zero keeps the default.
type Limits struct {
	MaxConnections        int           `yaml:"max_connections"`
	MaxChannelNameLength  int           `yaml:"max_channel_name_length"`
	MaxEventNameLength    int           `yaml:"max_event_name_length"`
	MaxEventDataBytes     int           `yaml:"max_event_data_bytes"`
	MaxPresenceMembers    int           `yaml:"max_presence_members"`
	MaxPresenceUserBytes  int           `yaml:"max_presence_user_bytes"`
	ClientEventsPerSecond int           `yaml:"client_events_per_second"`
	MaxWatchlist          int           `yaml:"max_watchlist"`
	CacheTTL              time.Duration `yaml:"cache_ttl"`
}

// Messenger configures the chat API.
type Messenger struct {
	// AppID is the app whose channels the messenger publishes on; default
	// the first app.
	AppID            string        `yaml:"app_id"`
	JWTSecret        string        `yaml:"jwt_secret"`
	JWTPublicKeyFile string        `yaml:"jwt_public_key_file"`
	MaxMessageRunes  int           `yaml:"max_message_runes"`
	TypingTTL        time.Duration `yaml:"typing_ttl"`
	NotifyURL        string        `yaml:"notify_url"`
	NotifySecret     string        `yaml:"notify_secret"`
	NotifyDelay      time.Duration `yaml:"notify_delay"`
	JWTIssuer        string        `yaml:"jwt_issuer"`
	JWTAudience      string        `yaml:"jwt_audience"`
	// SendRate is each user's sustained sends per second (negative: no
	// limit); SendBurst the sends allowed at once.
	SendRate  float64 `yaml:"send_rate"`
	SendBurst int     `yaml:"send_burst"`
}

// Blob configures attachment storage.
type Blob struct {
	Key              string        `yaml:"key"` // base64 AES-256 key for local encryption; generated when empty
	MaxUploadBytes   int64         `yaml:"max_upload_bytes"`
	PendingTTL       time.Duration `yaml:"pending_ttl"`
	PendingFiles     int           `yaml:"pending_quota_files"` // per user; negative: unlimited
	PendingBytes     int64         `yaml:"pending_quota_bytes"` // per user; negative: unlimited
	S3Endpoint       string        `yaml:"s3_endpoint"`
	S3Bucket         string        `yaml:"s3_bucket"`
	S3Region         string        `yaml:"s3_region"`
	S3AccessKey      string        `yaml:"s3_access_key"`
	S3SecretKey      string        `yaml:"s3_secret_key"`
	S3UseSSL         bool          `yaml:"s3_use_ssl"`
	S3PresignedLinks bool          `yaml:"s3_presigned_links"`
}

// Default returns the documented defaults: one app (id 1, key app-key,
// secret app-secret) listening on :6001 with data under ./data.
func Default() Config {
	return Config{
		Addr:               ":6001",
		DataDir:            "./data",
		AppID:              "1",
		AppKey:             "app-key",
		AppSecret:          "app-secret",
		ActivityTimeout:    120 * time.Second,
		PongTimeout:        30 * time.Second,
		WebhookVacateDelay: 3 * time.Second,
		WebhookRetryFor:    5 * time.Minute,
		ShutdownTimeout:    10 * time.Second,
		MaxMessageBytes:    64 << 10,
		SendQueue:          1024,
		LogLevel:           "info",
		LogFormat:          "json",
		Messenger: Messenger{
			MaxMessageRunes: 4000,
			TypingTTL:       5 * time.Second,
			SendRate:        10,
			SendBurst:       30,
			NotifyDelay:     2 * time.Minute,
		},
		Blob: Blob{
			MaxUploadBytes: 25 << 20,
			PendingTTL:     24 * time.Hour,
			PendingFiles:   20,
			PendingBytes:   100 << 20,
			S3Region:       "us-east-1",
		},
	}
}

// ReadFile merges a YAML file into c. Unknown keys are errors, so a typo
// does not silently fall back to a default.
func (c *Config) ReadFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	defer f.Close()
	dec := yaml.NewDecoder(f)
	dec.KnownFields(true)
	if err := dec.Decode(c); err != nil {
		return fmt.Errorf("config: %s: %w", path, err)
	}
	return nil
}

// PusherApps returns the apps the hub serves.
func (c *Config) PusherApps() []*pusher.App {
	if len(c.Apps) == 0 {
		return []*pusher.App{{
			ID: c.AppID, Key: c.AppKey, Secret: c.AppSecret, Enabled: true,
			ClientEvents: true, UserAuthentication: true, Watchlist: true,
			Limits: pusher.DefaultLimits(),
		}}
	}
	out := make([]*pusher.App, 0, len(c.Apps))
	for _, a := range c.Apps {
		app := &pusher.App{
			ID: a.ID, Key: a.Key, Secret: a.Secret,
			Enabled:                      boolOr(a.Enabled, true),
			ClientEvents:                 boolOr(a.ClientEvents, true),
			UserAuthentication:           boolOr(a.UserAuthentication, true),
			Watchlist:                    boolOr(a.Watchlist, true),
			SubscriptionCount:            a.SubscriptionCount,
			AuthorizedConnectionsTimeout: a.AuthorizedConnectionsTimeout,
			Limits:                       a.Limits.apply(pusher.DefaultLimits()),
		}
		for _, w := range a.Webhooks {
			app.Webhooks = append(app.Webhooks, pusher.Webhook{URL: w.URL, EventTypes: w.EventTypes, Batch: w.Batch})
		}
		out = append(out, app)
	}
	return out
}

// MessengerApp returns the app the messenger publishes on, and its
// encryption master key if any.
func (c *Config) MessengerApp(apps []*pusher.App) (*pusher.App, []byte) {
	want := c.Messenger.AppID
	for i, a := range apps {
		if a.ID == want || (want == "" && i == 0) {
			var key []byte
			if i < len(c.Apps) && c.Apps[i].EncryptionMasterKey != "" {
				key, _ = base64.StdEncoding.DecodeString(c.Apps[i].EncryptionMasterKey)
			}
			return a, key
		}
	}
	return nil, nil
}

func (l Limits) apply(d pusher.Limits) pusher.Limits {
	set := func(dst *int, v int) {
		if v != 0 {
			*dst = v
		}
	}
	set(&d.MaxConnections, l.MaxConnections)
	set(&d.MaxChannelNameLength, l.MaxChannelNameLength)
	set(&d.MaxEventNameLength, l.MaxEventNameLength)
	set(&d.MaxEventDataBytes, l.MaxEventDataBytes)
	set(&d.MaxPresenceMembers, l.MaxPresenceMembers)
	set(&d.MaxPresenceUserBytes, l.MaxPresenceUserBytes)
	set(&d.ClientEventsPerSecond, l.ClientEventsPerSecond)
	set(&d.MaxWatchlist, l.MaxWatchlist)
	if l.CacheTTL != 0 {
		d.CacheTTL = l.CacheTTL
	}
	return d
}

func boolOr(p *bool, def bool) bool {
	if p == nil {
		return def
	}
	return *p
}

// Validate reports every problem at once.
func (c *Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf("config: "+format, args...)) }
	if c.Addr == "" {
		bad("addr is empty")
	}
	if c.DataDir == "" {
		bad("data_dir is empty")
	}
	seenID, seenKey := map[string]bool{}, map[string]bool{}
	for _, a := range c.PusherApps() {
		if _, err := strconv.ParseUint(a.ID, 10, 64); err != nil {
			bad("app id %q must be numeric: the server SDKs parse it as a number", a.ID)
		}
		if a.Key == "" || a.Secret == "" {
			bad("app %q needs a key and a secret", a.ID)
		}
		if seenID[a.ID] || seenKey[a.Key] {
			bad("app %q: duplicate id or key", a.ID)
		}
		seenID[a.ID], seenKey[a.Key] = true, true
		for _, w := range a.Webhooks {
			if w.URL == "" {
				bad("app %q: webhook without url", a.ID)
			}
		}
	}
	for _, a := range c.Apps {
		if a.EncryptionMasterKey != "" {
			if k, err := base64.StdEncoding.DecodeString(a.EncryptionMasterKey); err != nil || len(k) != 32 {
				bad("app %q: encryption_master_key must be 32 bytes in base64", a.ID)
			}
		}
	}
	if c.ActivityTimeout < time.Second {
		bad("activity_timeout %v must be at least 1s", c.ActivityTimeout)
	}
	if c.PongTimeout < time.Second {
		bad("pong_timeout %v must be at least 1s", c.PongTimeout)
	}
	if c.ShutdownTimeout <= 0 {
		bad("shutdown_timeout must be positive")
	}
	if c.LogFormat != "json" && c.LogFormat != "text" {
		bad("log_format %q must be json or text", c.LogFormat)
	}
	if c.Messenger.MaxMessageRunes <= 0 {
		bad("messenger.max_message_runes must be positive")
	}
	if c.Blob.MaxUploadBytes <= 0 {
		bad("blob.max_upload_bytes must be positive")
	}
	if c.Blob.S3Endpoint != "" && c.Blob.S3Bucket == "" {
		bad("blob.s3_bucket is required with blob.s3_endpoint")
	}
	for _, o := range c.CORSOriginList() {
		if !validOrigin(o) {
			bad("cors_origins: %q must be * or scheme://host[:port] as a browser sends it, like https://app.example", o)
		}
	}
	return errors.Join(errs...)
}

// CORSOriginList is CORSOrigins split at commas, blanks dropped.
func (c *Config) CORSOriginList() []string {
	var out []string
	for _, o := range strings.Split(c.CORSOrigins, ",") {
		if o = strings.TrimSpace(o); o != "" {
			out = append(out, o)
		}
	}
	return out
}

// validOrigin reports whether o is "*" or a bare origin: http or https, a
// host, nothing after it (a browser's Origin header never has a path).
func validOrigin(o string) bool {
	if o == "*" {
		return true
	}
	u, err := url.Parse(o)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" && u.Opaque == "" &&
		u.User == nil && u.Path == "" && u.RawQuery == "" && u.Fragment == "" && !strings.HasSuffix(o, "?")
}
