package pushertest

import "encoding/json"

// Frame is one server→client protocol message. Raw is the text as it came
// off the wire, for failure messages and assertions about bytes.
type Frame struct {
	Event   string          `json:"event"`
	Channel string          `json:"channel,omitempty"`
	Data    json.RawMessage `json:"data,omitempty"`
	UserID  string          `json:"user_id,omitempty"`
	Raw     string          `json:"-"`
}

// Unparsable is the Event of a frame that was not a JSON object.
const Unparsable = "<unparsable>"

// DataString returns data as the string the server sent when it is a JSON
// string (the protocol's double encoding), or else the raw JSON text.
func (f Frame) DataString() string {
	var s string
	if json.Unmarshal(f.Data, &s) == nil {
		return s
	}
	return string(f.Data)
}

// IsStringData reports whether data was sent as a JSON string, as the
// protocol requires for every event but pusher:error and signin_success.
func (f Frame) IsStringData() bool {
	var s string
	return json.Unmarshal(f.Data, &s) == nil
}

// Decode unmarshals data into v, whether it was sent as a JSON string
// holding JSON or as an object.
func (f Frame) Decode(v any) error { return json.Unmarshal([]byte(f.DataString()), v) }

// IsEvent matches event on channel.
func IsEvent(event, channel string) func(Frame) bool {
	return func(f Frame) bool { return f.Event == event && f.Channel == channel }
}

// IsEventName matches event on any channel.
func IsEventName(event string) func(Frame) bool {
	return func(f Frame) bool { return f.Event == event }
}
