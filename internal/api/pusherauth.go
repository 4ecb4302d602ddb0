package api

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/parleyhq/parley/internal/httpx"
	"github.com/parleyhq/parley/internal/messenger"
	"github.com/parleyhq/parley/internal/pusher"
)

// Channel prefixes the messenger authorizes. Everything else is refused.
const (
	prefixThread          = "private-thread-"
	prefixEncryptedThread = "private-encrypted-thread-"
	prefixUser            = "private-user-"
	prefixPresenceUser    = "presence-user-"
)

type authRequest struct {
	SocketID    string `json:"socket_id"`
	ChannelName string `json:"channel_name"`
}

// readAuthRequest reads the body of both authorization endpoints and
// checks its socket_id.
func (a *API) readAuthRequest(w http.ResponseWriter, r *http.Request) (authRequest, error) {
	req, err := a.decodeAuthRequest(w, r)
	if err != nil {
		return req, err
	}
	// GHSA-7v7m-pcw5-h3cg: a socket_id with ':' could make the signed
	// string stand for another channel; only \d+\.\d+ is signed.
	if !pusher.ValidSocketID(req.SocketID) {
		return req, httpx.NewError(messenger.EINVALID, "socket_id must look like 1234.5678")
	}
	return req, nil
}

// decodeAuthRequest accepts pusher-js's default form body and JSON.
func (a *API) decodeAuthRequest(w http.ResponseWriter, r *http.Request) (authRequest, error) {
	var req authRequest
	mt := ""
	if ct := r.Header.Get("Content-Type"); ct != "" {
		var err error
		if mt, _, err = mime.ParseMediaType(ct); err != nil {
			return req, httpx.NewError(httpx.CodeUnsupportedMedia, "Content-Type must be application/x-www-form-urlencoded or application/json")
		}
	}
	switch mt {
	case "application/json":
		err := decodeJSON(w, r, a.cfg.MaxBodyBytes, &req, false)
		return req, err
	case "", "application/x-www-form-urlencoded":
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, a.cfg.MaxBodyBytes))
		if err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				return req, tooLarge(a.cfg.MaxBodyBytes)
			}
			return req, httpx.NewError(messenger.EINVALID, "could not read request body")
		}
		// pusher.ParseQuery, not url.ParseQuery: the latter refuses a raw
		// ';', which is legal in channel names. Extra parameters a client
		// adds with pusher-js's params option are ignored.
		q, err := pusher.ParseQuery(string(body))
		if err != nil {
			return req, httpx.NewError(messenger.EINVALID, "malformed form body")
		}
		req.SocketID, req.ChannelName = q["socket_id"], q["channel_name"]
		return req, nil
	default:
		return req, httpx.NewError(httpx.CodeUnsupportedMedia, "Content-Type must be application/x-www-form-urlencoded or application/json")
	}
}

// presenceData is channel_data for presence-user-{id}: the subscriber.
type presenceData struct {
	UserID   string   `json:"user_id"`
	UserInfo userInfo `json:"user_info"`
}

type userInfo struct {
	Name string `json:"name"`
	Role string `json:"role"`
}

// channelAuth answers POST /api/pusher/auth for the messenger's channels.
func (a *API) channelAuth(w http.ResponseWriter, r *http.Request, actor messenger.Actor) {
	req, err := a.readAuthRequest(w, r)
	if err != nil {
		a.edge.WriteError(w, r, err)
		return
	}
	// '#' names are the server's own (#server-to-user-*); nobody
	// subscribes to them, so they are malformed here rather than refused.
	if strings.HasPrefix(req.ChannelName, "#") {
		a.edge.WriteError(w, r, httpx.NewError(messenger.EINVALID, "invalid channel_name: "+pusher.ErrChannelReserved.Error()))
		return
	}
	if err := pusher.ValidateChannelName(req.ChannelName, a.cfg.MaxChannelNameLength); err != nil {
		a.edge.WriteError(w, r, httpx.NewError(messenger.EINVALID, "invalid channel_name: "+err.Error()))
		return
	}
	if err := a.svc.Touch(r.Context(), actor); err != nil {
		a.edge.WriteError(w, r, err)
		return
	}
	ch := req.ChannelName
	resp := map[string]string{}
	var allowed bool
	switch {
	case strings.HasPrefix(ch, prefixEncryptedThread):
		if a.cfg.EncryptionMasterKey == nil {
			a.edge.WriteError(w, r, httpx.NewError(messenger.EFORBIDDEN, "encrypted channels are not enabled on this server"))
			return
		}
		allowed, err = a.svc.IsParticipant(r.Context(), actor.UserID, strings.TrimPrefix(ch, prefixEncryptedThread))
		// Same derivation as the Pusher server SDKs, so clients decrypt
		// what they encrypt: sha256(channel name ‖ master key), base64.
		sum := sha256.Sum256(append([]byte(ch), a.cfg.EncryptionMasterKey...))
		resp["shared_secret"] = base64.StdEncoding.EncodeToString(sum[:])
	case strings.HasPrefix(ch, prefixThread):
		allowed, err = a.svc.IsParticipant(r.Context(), actor.UserID, strings.TrimPrefix(ch, prefixThread))
	case strings.HasPrefix(ch, prefixUser):
		allowed = strings.TrimPrefix(ch, prefixUser) == actor.UserID
	case strings.HasPrefix(ch, prefixPresenceUser):
		allowed, err = a.canWatch(r.Context(), actor, strings.TrimPrefix(ch, prefixPresenceUser))
		if allowed {
			// Marshal of strings only cannot fail.
			b, _ := json.Marshal(presenceData{UserID: actor.UserID, UserInfo: userInfo{Name: actor.Name, Role: string(actor.Role)}})
			resp["channel_data"] = string(b)
		}
	}
	if err != nil {
		a.edge.WriteError(w, r, err)
		return
	}
	if !allowed {
		a.edge.WriteError(w, r, httpx.NewError(messenger.EFORBIDDEN, "not allowed to subscribe to this channel"))
		return
	}
	resp["auth"] = pusher.ChannelAuth(a.cfg.AppKey, a.cfg.AppSecret, req.SocketID, ch, resp["channel_data"])
	a.edge.WriteJSON(w, r, http.StatusOK, resp)
}

// canWatch: a user's presence channel is open to them and to everyone who
// shares a thread with them, and to nobody else (presence is PHI-adjacent).
func (a *API) canWatch(ctx context.Context, actor messenger.Actor, userID string) (bool, error) {
	if userID == "" {
		return false, nil
	}
	if userID == actor.UserID {
		return true, nil
	}
	return a.svc.SharesThread(ctx, actor.UserID, userID)
}

// signinData is user_data for pusher:signin.
type signinData struct {
	ID        string   `json:"id"`
	UserInfo  userInfo `json:"user_info"`
	Watchlist []string `json:"watchlist"`
}

// userAuth answers POST /api/pusher/user-auth for pusher:signin. The
// watchlist is the user's thread partners, so the client learns when they
// come online without subscribing to a presence channel each.
func (a *API) userAuth(w http.ResponseWriter, r *http.Request, actor messenger.Actor) {
	req, err := a.readAuthRequest(w, r)
	if err != nil {
		a.edge.WriteError(w, r, err)
		return
	}
	if err := a.svc.Touch(r.Context(), actor); err != nil {
		a.edge.WriteError(w, r, err)
		return
	}
	partners, err := a.svc.Partners(r.Context(), actor.UserID)
	if err != nil {
		a.edge.WriteError(w, r, err)
		return
	}
	if len(partners) > a.cfg.MaxWatchlist {
		partners = partners[:a.cfg.MaxWatchlist]
	}
	if partners == nil {
		partners = []string{}
	}
	// Marshal of strings only cannot fail.
	b, _ := json.Marshal(signinData{ID: actor.UserID, UserInfo: userInfo{Name: actor.Name, Role: string(actor.Role)}, Watchlist: partners})
	userData := string(b)
	a.edge.WriteJSON(w, r, http.StatusOK, map[string]string{
		"auth":      pusher.UserAuth(a.cfg.AppKey, a.cfg.AppSecret, req.SocketID, userData),
		"user_data": userData,
	})
}
