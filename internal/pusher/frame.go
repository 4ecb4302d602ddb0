package pusher

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"
	"unicode/utf8"
)

// Event names of protocol 7.
const (
	EventConnectionEstablished = "pusher:connection_established"
	EventError                 = "pusher:error"
	EventPing                  = "pusher:ping"
	EventPong                  = "pusher:pong"
	EventSubscribe             = "pusher:subscribe"
	EventUnsubscribe           = "pusher:unsubscribe"
	EventSignin                = "pusher:signin"
	EventSigninSuccess         = "pusher:signin_success"
	EventSubscriptionError     = "pusher:subscription_error"
	EventCacheMiss             = "pusher:cache_miss"
	EventSubscriptionSucceeded = "pusher_internal:subscription_succeeded"
	EventMemberAdded           = "pusher_internal:member_added"
	EventMemberRemoved         = "pusher_internal:member_removed"
	EventSubscriptionCount     = "pusher_internal:subscription_count"
	EventWatchlist             = "pusher_internal:watchlist_events"
)

// Inbound is a frame a client sent. Data is kept raw: pusher-js sends an
// object, other clients a JSON string, and signatures need exact bytes.
type Inbound struct {
	Event   string          `json:"event"`
	Channel string          `json:"channel,omitempty"`
	Data    json.RawMessage `json:"data,omitempty"`
}

// ErrMalformed is returned for a frame that is not a JSON object with a
// string "event".
var ErrMalformed = errors.New("invalid message format: expected a JSON object with a string \"event\"")

// ParseInbound decodes one client frame.
func ParseInbound(b []byte) (Inbound, error) {
	var in Inbound
	if err := json.Unmarshal(b, &in); err != nil || in.Event == "" {
		return Inbound{}, ErrMalformed
	}
	return in, nil
}

// DataString returns data as the string the protocol carries: a JSON
// string is unquoted, anything else (an object from pusher-js) is
// compacted JSON text. Missing data is "".
func DataString(data json.RawMessage) (string, error) {
	data = bytes.TrimSpace(data)
	if len(data) == 0 || string(data) == "null" {
		return "", nil
	}
	if data[0] == '"' {
		var s string
		if err := json.Unmarshal(data, &s); err != nil {
			return "", ErrMalformed
		}
		return s, nil
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, data); err != nil {
		return "", ErrMalformed
	}
	return buf.String(), nil
}

// SubscribeData is the data of pusher:subscribe.
type SubscribeData struct {
	Channel     string  `json:"channel"`
	Auth        string  `json:"auth"`
	ChannelData *string `json:"channel_data"` // nil when absent
}

// SigninData is the data of pusher:signin.
type SigninData struct {
	Auth     string `json:"auth"`
	UserData string `json:"user_data"`
}

// DecodeData decodes a frame's data into v whether the client sent it as an
// object or as a JSON string holding one.
func DecodeData(data json.RawMessage, v any) error {
	data = bytes.TrimSpace(data)
	if len(data) > 0 && data[0] == '"' {
		var s string
		if err := json.Unmarshal(data, &s); err != nil {
			return ErrMalformed
		}
		data = []byte(s)
	}
	if err := json.Unmarshal(data, v); err != nil {
		return ErrMalformed
	}
	return nil
}

// Outbound frames. The server sends data as a JSON string (double encoded)
// for every event except pusher:error and pusher:signin_success, as the
// protocol document shows; pusher-js accepts both, other SDKs need strings.

// AppendEvent appends {"event":E,"channel":C,"data":"<data>"[,"user_id":U]}.
// channel and userID are omitted when empty.
func AppendEvent(dst []byte, event, channel, data, userID string) []byte {
	dst = append(dst, `{"event":`...)
	dst = AppendString(dst, event)
	if channel != "" {
		dst = append(dst, `,"channel":`...)
		dst = AppendString(dst, channel)
	}
	dst = append(dst, `,"data":`...)
	dst = AppendString(dst, data)
	if userID != "" {
		dst = append(dst, `,"user_id":`...)
		dst = AppendString(dst, userID)
	}
	return append(dst, '}')
}

// EventFrame returns one encoded event frame.
func EventFrame(event, channel, data, userID string) []byte {
	return AppendEvent(make([]byte, 0, 40+len(event)+len(channel)+len(data)+len(data)/8+len(userID)), event, channel, data, userID)
}

// ConnectionEstablished returns the handshake frame.
func ConnectionEstablished(socketID string, activityTimeoutSeconds int) []byte {
	data := `{"socket_id":"` + socketID + `","activity_timeout":` + strconv.Itoa(activityTimeoutSeconds) + `}`
	return EventFrame(EventConnectionEstablished, "", data, "")
}

// ErrorFrame returns {"event":"pusher:error","data":{"code":N,"message":M}}.
// A code of 0 is sent as null, which pusher-js does not treat as a close.
func ErrorFrame(code int, message string) []byte {
	b := []byte(`{"event":"pusher:error","data":{"code":`)
	if code == 0 {
		b = append(b, "null"...)
	} else {
		b = strconv.AppendInt(b, int64(code), 10)
	}
	b = append(b, `,"message":`...)
	b = AppendString(b, message)
	return append(b, "}}"...)
}

// SubscriptionError returns pusher:subscription_error on a channel with
// data {type, error, status} as the docs and pusher-js users expect.
func SubscriptionError(channel, typ, message string, status int) []byte {
	b := []byte(`{"event":"pusher:subscription_error","channel":`)
	b = AppendString(b, channel)
	b = append(b, `,"data":{"type":`...)
	b = AppendString(b, typ)
	b = append(b, `,"error":`...)
	b = AppendString(b, message)
	b = append(b, `,"status":`...)
	b = strconv.AppendInt(b, int64(status), 10)
	return append(b, "}}"...)
}

// SigninSuccess returns pusher:signin_success with data as an object
// holding the exact user_data string.
func SigninSuccess(userData string) []byte {
	b := []byte(`{"event":"pusher:signin_success","data":{"user_data":`)
	b = AppendString(b, userData)
	return append(b, "}}"...)
}

// Fixed frames.
var (
	PingFrame = []byte(`{"event":"pusher:ping","data":"{}"}`)
	PongFrame = []byte(`{"event":"pusher:pong","data":"{}"}`)
)

// AppendString appends s as a JSON string. Unlike encoding/json it does not
// escape <, > and &, so payloads pass through byte for byte; invalid UTF-8
// becomes U+FFFD as encoding/json would.
func AppendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		// U+2028 and U+2029 are valid JSON but break JavaScript eval-based
		// parsers; encoding/json escapes them too.
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\u202`...)
			dst = append(dst, hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

const hexDigits = "0123456789abcdef"
