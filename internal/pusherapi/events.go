package pusherapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/parleyhq/parley/internal/hub"
	"github.com/parleyhq/parley/internal/pusher"
)

// eventBody is POST /events. Pointers tell "absent" from "empty"; unknown
// fields are ignored because SDKs may add some.
type eventBody struct {
	Name     *string   `json:"name"`
	Data     *string   `json:"data"`
	Channels *[]string `json:"channels"`
	Channel  *string   `json:"channel"`
	SocketID *string   `json:"socket_id"`
	Info     *string   `json:"info"`
}

// batchItem is one element of POST /batch_events: one channel per event.
type batchItem struct {
	Name     *string `json:"name"`
	Data     *string `json:"data"`
	Channel  *string `json:"channel"`
	SocketID *string `json:"socket_id"`
	Info     *string `json:"info"`
}

type batchBody struct {
	Batch *[]batchItem `json:"batch"`
}

// infoAttrs are the attributes asked for with info=…
type infoAttrs struct {
	userCount, subscriptionCount, cache bool
}

func (a infoAttrs) any() bool { return a.userCount || a.subscriptionCount || a.cache }

// parseInfo splits a comma list and refuses attributes not in allowed.
func parseInfo(s string, allowed ...string) (infoAttrs, error) {
	var a infoAttrs
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		ok := false
		for _, x := range allowed {
			ok = ok || f == x
		}
		if !ok {
			return a, badRequest(fmt.Sprintf("unknown info attribute %q; allowed here: %s", f, strings.Join(allowed, ", ")))
		}
		switch f {
		case "user_count":
			a.userCount = true
		case "subscription_count":
			a.subscriptionCount = true
		case "cache":
			a.cache = true
		}
	}
	return a, nil
}

// decodeJSON unmarshals a request body, turning decoder errors into a 400
// that names the field and the expected type.
func decodeJSON(body []byte, v any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return badRequest("the request body must be a JSON object")
	}
	err := json.Unmarshal(body, v)
	if err == nil {
		return nil
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		if te.Field == "" {
			return badRequest("the request body must be a JSON object, not " + te.Value)
		}
		return badRequest(fmt.Sprintf("field %q must be of type %s, not %s", te.Field, jsonType(te.Type.Kind().String()), te.Value))
	}
	return badRequest("the request body is not valid JSON")
}

func jsonType(goKind string) string {
	switch goKind {
	case "slice":
		return "array"
	case "struct", "map":
		return "object"
	}
	return goKind
}

// publishable is a validated event ready for the engine.
type publishable struct {
	ev   hub.Event
	info infoAttrs
}

// validateEvent applies Pusher's rules to one event. channels may hold
// duplicates; the result holds each channel once, in first-seen order.
func validateEvent(lim pusher.Limits, name, data *string, channels []string, socketID, info *string) (publishable, error) {
	var p publishable
	switch {
	case name == nil || *name == "":
		return p, badRequest("name is required")
	case len(*name) > lim.MaxEventNameLength:
		return p, badRequest(fmt.Sprintf("event name is longer than %d bytes", lim.MaxEventNameLength))
	case strings.HasPrefix(*name, "pusher_internal:"):
		// Those frames drive pusher-js's own state (presence members,
		// subscription results); an app must not be able to forge them.
		return p, badRequest("event names starting with pusher_internal: are reserved")
	case data == nil:
		return p, badRequest("data is required (a string)")
	case len(*data) > lim.MaxEventDataBytes:
		return p, &apiError{http.StatusRequestEntityTooLarge,
			fmt.Sprintf("event data is %d bytes; the limit is %d", len(*data), lim.MaxEventDataBytes)}
	case len(channels) == 0:
		return p, badRequest("channels (an array) or channel (a string) is required")
	case len(channels) > lim.MaxChannelsPerEvent:
		return p, badRequest(fmt.Sprintf("an event may go to at most %d channels, got %d", lim.MaxChannelsPerEvent, len(channels)))
	}
	unique := make([]string, 0, len(channels))
	seen := make(map[string]struct{}, len(channels))
	encrypted := false
	for _, c := range channels {
		if err := pusher.ValidateChannelName(c, lim.MaxChannelNameLength); err != nil {
			return p, badRequest(fmt.Sprintf("invalid channel name %q: %v", c, err))
		}
		if _, dup := seen[c]; dup {
			continue
		}
		seen[c] = struct{}{}
		unique = append(unique, c)
		encrypted = encrypted || pusher.Classify(c).Kind == pusher.Encrypted
	}
	if encrypted && len(unique) > 1 {
		// Each encrypted channel has its own key, so one payload cannot
		// be valid on several; Pusher and the SDKs refuse this too.
		return p, badRequest("cannot trigger an event on several channels when one of them is private-encrypted-")
	}
	if socketID != nil && *socketID != "" && !pusher.ValidSocketID(*socketID) {
		return p, badRequest(fmt.Sprintf("invalid socket_id %q: expected digits.digits", *socketID))
	}
	if info != nil {
		a, err := parseInfo(*info, "user_count", "subscription_count")
		if err != nil {
			return p, err
		}
		p.info = a
	}
	p.ev = hub.Event{Name: *name, Channels: unique, Data: *data}
	if socketID != nil {
		p.ev.SocketID = *socketID
	}
	return p, nil
}

// events serves POST /apps/{id}/events.
func (h *handler) events(ctx context.Context, req *request) (any, int, error) {
	var b eventBody
	if err := decodeJSON(req.body, &b); err != nil {
		return nil, 0, err
	}
	var channels []string
	switch {
	case b.Channels != nil && b.Channel != nil:
		return nil, 0, badRequest("give either channels or channel, not both")
	case b.Channels != nil:
		channels = *b.Channels
	case b.Channel != nil:
		channels = []string{*b.Channel}
	}
	p, err := validateEvent(req.lim, b.Name, b.Data, channels, b.SocketID, b.Info)
	if err != nil {
		return nil, 0, err
	}
	if err := h.engine.Publish(ctx, req.app, p.ev); err != nil {
		return nil, 0, err
	}
	if !p.info.any() {
		return struct{}{}, http.StatusOK, nil
	}
	out := make(map[string]map[string]int, len(p.ev.Channels))
	for _, c := range p.ev.Channels {
		attrs, err := h.eventInfo(ctx, req.app, c, p.info)
		if err != nil {
			return nil, 0, err
		}
		out[c] = attrs
	}
	return map[string]any{"channels": out}, http.StatusOK, nil
}

// eventInfo answers info=… for one channel after a publish. user_count
// only exists for presence channels and is left out for the others rather
// than failing a multi-channel publish that already happened.
func (h *handler) eventInfo(ctx context.Context, app *pusher.App, channel string, a infoAttrs) (map[string]int, error) {
	ci, err := h.engine.Channel(ctx, app, channel)
	if err != nil {
		return nil, err
	}
	attrs := map[string]int{}
	if a.userCount && pusher.Classify(channel).Kind == pusher.Presence {
		attrs["user_count"] = ci.UserCount
	}
	if a.subscriptionCount {
		attrs["subscription_count"] = ci.SubscriptionCount
	}
	return attrs, nil
}

// batchEvents serves POST /apps/{id}/batch_events. Every item is
// validated before anything is published, so a bad item publishes nothing.
func (h *handler) batchEvents(ctx context.Context, req *request) (any, int, error) {
	var b batchBody
	if err := decodeJSON(req.body, &b); err != nil {
		return nil, 0, err
	}
	if b.Batch == nil {
		return nil, 0, badRequest("batch (an array of events) is required")
	}
	items := *b.Batch
	if len(items) > req.lim.MaxBatchSize {
		return nil, 0, badRequest(fmt.Sprintf("a batch may hold at most %d events, got %d", req.lim.MaxBatchSize, len(items)))
	}
	ps := make([]publishable, len(items))
	anyInfo := false
	for i, it := range items {
		var channels []string
		if it.Channel != nil {
			channels = []string{*it.Channel}
		}
		p, err := validateEvent(req.lim, it.Name, it.Data, channels, it.SocketID, it.Info)
		if err != nil {
			var ae *apiError
			if errors.As(err, &ae) {
				return nil, 0, &apiError{ae.status, "batch[" + strconv.Itoa(i) + "]: " + ae.msg}
			}
			return nil, 0, err
		}
		ps[i] = p
		anyInfo = anyInfo || p.info.any()
	}
	for _, p := range ps {
		if err := h.engine.Publish(ctx, req.app, p.ev); err != nil {
			return nil, 0, err
		}
	}
	if !anyInfo {
		return struct{}{}, http.StatusOK, nil
	}
	out := make([]map[string]int, len(ps))
	for i, p := range ps {
		if !p.info.any() {
			out[i] = map[string]int{}
			continue
		}
		attrs, err := h.eventInfo(ctx, req.app, p.ev.Channels[0], p.info)
		if err != nil {
			return nil, 0, err
		}
		out[i] = attrs
	}
	return map[string]any{"batch": out}, http.StatusOK, nil
}

// legacyEvents serves the deprecated POST /apps/{id}/channels/{c}/events
// ?name=…&socket_id=…, whose raw body is the event data. Pusher answered
// it with 202.
func (h *handler) legacyEvents(ctx context.Context, req *request) (any, int, error) {
	name, hasName := req.query["name"]
	var np *string
	if hasName {
		np = &name
	}
	data := string(req.body)
	var sid *string
	if s, ok := req.query["socket_id"]; ok {
		sid = &s
	}
	p, err := validateEvent(req.lim, np, &data, []string{req.param}, sid, nil)
	if err != nil {
		return nil, 0, err
	}
	if err := h.engine.Publish(ctx, req.app, p.ev); err != nil {
		return nil, 0, err
	}
	return struct{}{}, http.StatusAccepted, nil
}
