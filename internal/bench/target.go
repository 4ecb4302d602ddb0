package bench

import (
	"fmt"
	"net"
	"net/url"
	"strings"
)

// Protocol is the wire protocol a target speaks.
type Protocol string

const (
	ProtoPusher     Protocol = "pusher"     // Parley, soketi
	ProtoCentrifugo Protocol = "centrifugo" // Centrifugo's JSON protocol
)

// Target describes the server under test and its credentials.
type Target struct {
	Name     string   `json:"name"` // label in reports: parley, soketi, centrifugo
	Protocol Protocol `json:"protocol"`
	// Addr is host:port of both the WebSocket endpoint and the HTTP API.
	Addr string `json:"addr"`

	// Pusher apps.
	AppID     string `json:"app_id,omitempty"`
	AppKey    string `json:"app_key,omitempty"`
	AppSecret string `json:"app_secret,omitempty"`

	// Centrifugo: the HTTP API key and the HMAC secret of connection tokens
	// (empty: connect without a token, for insecure mode).
	APIKey      string `json:"api_key,omitempty"`
	TokenSecret string `json:"token_secret,omitempty"`

	// Parley's messenger: HS256 secret of bearer tokens (PARLEY_JWT_SECRET).
	JWTSecret string `json:"jwt_secret,omitempty"`

	// ServerPID, when set, is the process whose RSS and CPU are reported.
	ServerPID int `json:"server_pid,omitempty"`
}

// Validate checks the target is complete and on loopback: the generator
// never sends traffic anywhere else.
func (t Target) Validate() error {
	host, _, err := net.SplitHostPort(t.Addr)
	if err != nil {
		return fmt.Errorf("target address %q: %w", t.Addr, err)
	}
	if err := checkLoopback(host); err != nil {
		return err
	}
	switch t.Protocol {
	case ProtoPusher:
		if t.AppID == "" || t.AppKey == "" || t.AppSecret == "" {
			return fmt.Errorf("pusher target needs app id, key and secret")
		}
	case ProtoCentrifugo:
		if t.APIKey == "" {
			return fmt.Errorf("centrifugo target needs an HTTP API key")
		}
	default:
		return fmt.Errorf("unknown protocol %q (want pusher or centrifugo)", t.Protocol)
	}
	return nil
}

func checkLoopback(host string) error {
	if host == "localhost" {
		return nil
	}
	ip := net.ParseIP(host)
	if ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("address %q is not loopback: the load generator only targets 127.0.0.0/8 or ::1", host)
	}
	return nil
}

// wsURL is the WebSocket endpoint.
func (t Target) wsURL() string {
	if t.Protocol == ProtoCentrifugo {
		return "ws://" + t.Addr + "/connection/websocket"
	}
	return "ws://" + t.Addr + "/app/" + url.PathEscape(t.AppKey) + "?protocol=7&client=parley-bench&version=1.0&flash=false"
}

func (t Target) httpBase() string { return "http://" + strings.TrimSuffix(t.Addr, "/") }
