package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"
)

// option binds one setting to its flag and environment variable.
type option struct {
	flag, env, usage string
	ptr              any // *string, *int, *int64, *float64, *bool or *time.Duration
}

// options lists every setting that has a flag and a PARLEY_* variable.
// Apps beyond the default one, webhooks and limits live in the file.
func options(c *Config) []option {
	return []option{
		{"addr", "PARLEY_ADDR", "listen address for WebSocket and HTTP", &c.Addr},
		{"data-dir", "PARLEY_DATA_DIR", "directory for the SQLite database, attachments and generated keys", &c.DataDir},
		{"ws-path-prefix", "PARLEY_WS_PATH_PREFIX", "path before /app/{key} (pusher-js wsPath)", &c.WSPathPrefix},
		{"app-id", "PARLEY_APP_ID", "default app id (numeric)", &c.AppID},
		{"app-key", "PARLEY_APP_KEY", "default app key", &c.AppKey},
		{"app-secret", "PARLEY_APP_SECRET", "default app secret", &c.AppSecret},
		{"activity-timeout", "PARLEY_ACTIVITY_TIMEOUT", "idle time before the server pings a client", &c.ActivityTimeout},
		{"pong-timeout", "PARLEY_PONG_TIMEOUT", "time a pinged client has to answer before close 4201", &c.PongTimeout},
		{"webhook-vacate-delay", "PARLEY_WEBHOOK_VACATE_DELAY", "hold of channel_vacated and member_removed webhooks", &c.WebhookVacateDelay},
		{"webhook-retry-for", "PARLEY_WEBHOOK_RETRY_FOR", "how long failed webhooks are retried", &c.WebhookRetryFor},
		{"shutdown-timeout", "PARLEY_SHUTDOWN_TIMEOUT", "bound on graceful shutdown", &c.ShutdownTimeout},
		{"max-ws-message-bytes", "PARLEY_MAX_WS_MESSAGE_BYTES", "largest inbound WebSocket message", &c.MaxMessageBytes},
		{"send-queue", "PARLEY_SEND_QUEUE", "frames queued per connection before it is closed as too slow (4100)", &c.SendQueue},
		{"log-level", "PARLEY_LOG_LEVEL", "debug, info, warn or error", &c.LogLevel},
		{"log-format", "PARLEY_LOG_FORMAT", "json or text", &c.LogFormat},
		{"cors-origins", "PARLEY_CORS_ORIGINS", "comma-separated browser origins allowed to call /api/ from another origin, like https://app.example (* for any; empty: none)", &c.CORSOrigins},
		{"redis-url", "PARLEY_REDIS_URL", "Redis URL for scale-out fan-out and presence (empty: in-memory)", &c.RedisURL},
		{"database-url", "PARLEY_DATABASE_URL", "PostgreSQL URL for the messenger (empty: SQLite under data-dir)", &c.DatabaseURL},
		{"node-id", "PARLEY_NODE_ID", "this node's unique id in a cluster (empty: random)", &c.NodeID},
		{"messenger-app-id", "PARLEY_MESSENGER_APP_ID", "app the messenger publishes on (empty: the first)", &c.Messenger.AppID},
		{"jwt-secret", "PARLEY_JWT_SECRET", "HS256 secret for bearer tokens", &c.Messenger.JWTSecret},
		{"jwt-public-key-file", "PARLEY_JWT_PUBLIC_KEY_FILE", "PEM public key or JWKS file for RS256/ES256 bearer tokens", &c.Messenger.JWTPublicKeyFile},
		{"jwt-issuer", "PARLEY_JWT_ISSUER", "required iss claim of bearer tokens (empty: not checked)", &c.Messenger.JWTIssuer},
		{"jwt-audience", "PARLEY_JWT_AUDIENCE", "required aud claim of bearer tokens (empty: not checked)", &c.Messenger.JWTAudience},
		{"send-rate", "PARLEY_SEND_RATE", "messages per second each user may send, sustained (negative: unlimited)", &c.Messenger.SendRate},
		{"send-burst", "PARLEY_SEND_BURST", "messages each user may send at once", &c.Messenger.SendBurst},
		{"max-message-runes", "PARLEY_MAX_MESSAGE_RUNES", "longest chat message in characters", &c.Messenger.MaxMessageRunes},
		{"typing-ttl", "PARLEY_TYPING_TTL", "typing-stop is sent this long after the last typing refresh", &c.Messenger.TypingTTL},
		{"notify-url", "PARLEY_NOTIFY_URL", "URL that receives offline-notification webhooks (ids only)", &c.Messenger.NotifyURL},
		{"notify-secret", "PARLEY_NOTIFY_SECRET", "HMAC secret of offline-notification webhooks", &c.Messenger.NotifySecret},
		{"notify-delay", "PARLEY_NOTIFY_DELAY", "how long a message stays unread by an offline user before a notification", &c.Messenger.NotifyDelay},
		{"blob-key", "PARLEY_BLOB_KEY", "base64 AES-256 key encrypting attachments on local disk (generated when empty)", &c.Blob.Key},
		{"max-upload-bytes", "PARLEY_MAX_UPLOAD_BYTES", "largest attachment", &c.Blob.MaxUploadBytes},
		{"pending-quota-files", "PARLEY_PENDING_QUOTA_FILES", "uploads a user may hold not yet attached (negative: unlimited)", &c.Blob.PendingFiles},
		{"pending-quota-bytes", "PARLEY_PENDING_QUOTA_BYTES", "bytes a user may hold in uploads not yet attached (negative: unlimited)", &c.Blob.PendingBytes},
		{"pending-upload-ttl", "PARLEY_PENDING_UPLOAD_TTL", "uploads never attached are deleted after this", &c.Blob.PendingTTL},
		{"s3-endpoint", "PARLEY_S3_ENDPOINT", "S3-compatible endpoint host:port (empty: local disk)", &c.Blob.S3Endpoint},
		{"s3-bucket", "PARLEY_S3_BUCKET", "S3 bucket", &c.Blob.S3Bucket},
		{"s3-region", "PARLEY_S3_REGION", "S3 region", &c.Blob.S3Region},
		{"s3-access-key", "PARLEY_S3_ACCESS_KEY", "S3 access key", &c.Blob.S3AccessKey},
		{"s3-secret-key", "PARLEY_S3_SECRET_KEY", "S3 secret key", &c.Blob.S3SecretKey},
		{"s3-use-ssl", "PARLEY_S3_USE_SSL", "use HTTPS to reach S3", &c.Blob.S3UseSSL},
		{"s3-presigned-links", "PARLEY_S3_PRESIGNED_LINKS", "redirect downloads to short-lived presigned URLs (the link leaves the PHI boundary)", &c.Blob.S3PresignedLinks},
		{"demo", "PARLEY_DEMO", "seed a demo clinic and offer sign-in as its users (never in production)", &c.Demo},
	}
}

// Load builds the configuration of `parley serve` from args (without the
// command name) and the environment: defaults, then the file named by
// --config or PARLEY_CONFIG, then PARLEY_* variables, then flags.
func Load(args []string, getenv func(string) string, usage io.Writer) (Config, error) {
	c := Default()
	path := getenv("PARLEY_CONFIG")
	for i, a := range args {
		if v, ok := strings.CutPrefix(a, "--config="); ok {
			path = v
		} else if v, ok := strings.CutPrefix(a, "-config="); ok {
			path = v
		} else if (a == "--config" || a == "-config") && i+1 < len(args) {
			path = args[i+1]
		}
	}
	if path != "" {
		if err := c.ReadFile(path); err != nil {
			return c, err
		}
	}
	opts := options(&c)
	var errs []error
	for _, o := range opts {
		if v, ok := lookup(getenv, o.env); ok {
			if err := set(o.ptr, v); err != nil {
				errs = append(errs, fmt.Errorf("config: %s=%q: %w", o.env, v, err))
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return c, err
	}
	fs := flag.NewFlagSet("parley serve", flag.ContinueOnError)
	fs.SetOutput(usage)
	fs.String("config", path, "YAML configuration file (env PARLEY_CONFIG)")
	for _, o := range opts {
		u := o.usage + " (env " + o.env + ")"
		switch p := o.ptr.(type) {
		case *string:
			fs.StringVar(p, o.flag, *p, u)
		case *int:
			fs.IntVar(p, o.flag, *p, u)
		case *int64:
			fs.Int64Var(p, o.flag, *p, u)
		case *float64:
			fs.Float64Var(p, o.flag, *p, u)
		case *bool:
			fs.BoolVar(p, o.flag, *p, u)
		case *time.Duration:
			fs.DurationVar(p, o.flag, *p, u)
		}
	}
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("config: unexpected arguments %q", fs.Args())
	}
	return c, c.Validate()
}

func lookup(getenv func(string) string, name string) (string, bool) {
	v := getenv(name)
	return v, v != ""
}

func set(ptr any, v string) error {
	switch p := ptr.(type) {
	case *string:
		*p = v
	case *int:
		n, err := strconv.Atoi(v)
		if err != nil {
			return errors.New("not an integer")
		}
		*p = n
	case *float64:
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return errors.New("not a number")
		}
		*p = f
	case *int64:
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return errors.New("not an integer")
		}
		*p = n
	case *bool:
		b, err := strconv.ParseBool(v)
		if err != nil {
			return errors.New("not a boolean")
		}
		*p = b
	case *time.Duration:
		d, err := time.ParseDuration(v)
		if err != nil {
			return errors.New("not a duration such as 30s or 5m")
		}
		*p = d
	}
	return nil
}

// Getenv is os.Getenv, for callers that pass the real environment.
var Getenv = os.Getenv
