package hub

import (
	"context"
	"encoding/json"
	"strings"

	"github.com/parleyhq/parley/internal/pusher"
)

// userData is the signed user_data of pusher:signin.
type userData struct {
	ID        json.RawMessage `json:"id"`
	UserInfo  json.RawMessage `json:"user_info"`
	Watchlist []string        `json:"watchlist"`
}

// signin handles pusher:signin: the signature over socket_id::user::user_data,
// a non-empty string id, no switching users on one connection. Failure
// answers pusher:error 4009 and closes, as pusher-js treats 4009 as final.
func (cl *Client) signin(data json.RawMessage) {
	app := cl.app.app
	fail := func(msg string) {
		cl.closeWith(&pusher.Error{Code: pusher.CodeUnauthorized, Message: msg})
	}
	if !app.UserAuthentication {
		fail("User authentication is disabled for this app")
		return
	}
	var d pusher.SigninData
	if err := pusher.DecodeData(data, &d); err != nil || d.UserData == "" || d.Auth == "" {
		fail("pusher:signin needs auth and user_data")
		return
	}
	if !pusher.VerifyUserAuth(app.Key, app.Secret, cl.socketID, d.UserData, d.Auth) {
		fail("Invalid signature: expected HMAC-SHA256 of socket_id::user::user_data with the app secret")
		return
	}
	var ud userData
	if err := json.Unmarshal([]byte(d.UserData), &ud); err != nil {
		fail("user_data must be a JSON object")
		return
	}
	var id string
	if err := json.Unmarshal(ud.ID, &id); err != nil || id == "" {
		fail(`The returned user data must contain the "id" field as a non-empty string.`)
		return
	}
	if max := app.Limits.MaxUserIDLength; max > 0 && len(id) > max {
		fail("user id is too long")
		return
	}
	cl.mu.Lock()
	if cl.userID != "" {
		same := cl.userID == id
		cl.mu.Unlock()
		if !same {
			fail("This connection is already signed in as another user")
			return
		}
		cl.send(pusher.SigninSuccess(d.UserData))
		return
	}
	cl.userID = id
	cl.authorized = true
	cl.signed = &signedIn{userInfo: compactJSON(ud.UserInfo)}
	var overLimit bool
	if app.Watchlist {
		wl := dedupe(ud.Watchlist)
		if max := app.Limits.MaxWatchlist; max > 0 && len(wl) > max {
			wl, overLimit = wl[:max], true
		}
		cl.signed.watchlist = wl
	}
	watchlist := cl.signed.watchlist
	cl.mu.Unlock()

	a := cl.app
	a.mu.Lock()
	addTo(a.users, id, cl)
	for _, w := range watchlist {
		addTo(a.watchers, w, cl)
	}
	a.mu.Unlock()

	cl.send(pusher.SigninSuccess(d.UserData))
	if overLimit {
		cl.sendError(pusher.CodeWatchlistLimit, pusher.ErrWatchlistLimit.Message)
	}

	ctx, cancel := cl.hub.stateCtx()
	defer cancel()
	first, err := cl.hub.state.AddUser(ctx, app.ID, id, cl.key())
	if err != nil {
		cl.hub.log.Warn("state add user failed", "app", app.ID, "err", err)
	} else {
		cl.mu.Lock()
		cl.userKnown = true
		cl.mu.Unlock()
	}
	if first {
		a.notifyWatchers(id, true)
		cl.hub.toBroker(ctx, Publication{Kind: PubUserOnline, App: app.ID, UserID: id})
	}
	if len(watchlist) > 0 {
		online, err := cl.hub.state.OnlineUsers(ctx, app.ID, watchlist)
		if err != nil {
			cl.hub.log.Warn("state online users failed", "err", err)
		}
		var on, off []string
		for _, w := range watchlist {
			if online[w] {
				on = append(on, w)
			} else {
				off = append(off, w)
			}
		}
		cl.send(watchlistFrame(on, off))
	}
}

// userInfo returns the signed-in user's info; cl.mu must be held.
func (cl *Client) userInfo() json.RawMessage {
	if cl.signed == nil {
		return nil
	}
	return cl.signed.userInfo
}

// signout removes a closed connection from the user index and tells
// watchers when it was the user's last connection anywhere.
func (cl *Client) signout(ctx context.Context, user string, watchlist []string) {
	a := cl.app
	app := a.app
	a.mu.Lock()
	removeFrom(a.users, user, cl)
	for _, w := range watchlist {
		removeFrom(a.watchers, w, cl)
	}
	a.mu.Unlock()
	last, err := cl.hub.state.RemoveUser(ctx, app.ID, user, cl.key())
	if err != nil {
		cl.hub.log.Warn("state remove user failed", "app", app.ID, "err", err)
	}
	if last {
		a.notifyWatchers(user, false)
		cl.hub.toBroker(ctx, Publication{Kind: PubUserOffline, App: app.ID, UserID: user})
		if cl.hub.cfg.UserObserver != nil {
			cl.hub.cfg.UserObserver.UserOffline(app, user)
		}
	}
}

// notifyWatchers sends online or offline to this node's watchers of user.
func (a *appState) notifyWatchers(user string, online bool) {
	watchers := a.watchersOf(user)
	if len(watchers) == 0 {
		return
	}
	var frame []byte
	if online {
		frame = a.hub.frame(watchlistFrame([]string{user}, nil))
	} else {
		frame = a.hub.frame(watchlistFrame(nil, []string{user}))
	}
	for _, c := range watchers {
		c.conn.Send(frame)
	}
}

// watchlistFrame encodes pusher_internal:watchlist_events as pusher-js
// expects: {"events":[{"name":"online","user_ids":[…]},…]}, no channel.
func watchlistFrame(online, offline []string) []byte {
	type ev struct {
		Name    string   `json:"name"`
		UserIDs []string `json:"user_ids"`
	}
	var events []ev
	if len(online) > 0 {
		events = append(events, ev{"online", online})
	}
	if len(offline) > 0 {
		events = append(events, ev{"offline", offline})
	}
	if events == nil {
		events = []ev{}
	}
	// Marshalling a map of strings cannot fail.
	b, _ := json.Marshal(map[string]any{"events": events})
	return pusher.EventFrame(pusher.EventWatchlist, "", string(b), "")
}

// TerminateUser closes every connection signed in as userID, on every
// node, with 4009.
func (h *Hub) TerminateUser(ctx context.Context, app *pusher.App, userID string) error {
	a, err := h.appOf(app)
	if err != nil {
		return err
	}
	for _, c := range a.userClients(userID) {
		c.closeWith(pusher.ErrTerminated)
	}
	h.toBroker(ctx, Publication{Kind: PubTerminate, App: app.ID, UserID: userID})
	return nil
}

func compactJSON(raw json.RawMessage) json.RawMessage {
	s := strings.TrimSpace(string(raw))
	if s == "" || s == "null" {
		return nil
	}
	var v any
	if json.Unmarshal([]byte(s), &v) != nil {
		return nil
	}
	b, _ := json.Marshal(v)
	return b
}

func dedupe(ids []string) []string {
	seen := make(map[string]bool, len(ids))
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		if id != "" && !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}
