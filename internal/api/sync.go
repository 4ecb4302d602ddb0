package api

import (
	"context"
	"net/http"
	"time"

	"github.com/parleyhq/parley/internal/httpx"
	"github.com/parleyhq/parley/internal/messenger"
)

// sync answers GET /api/v1/sync?since=&wait=&limit=. With wait > 0 and
// nothing new it long-polls through the messenger's Wait hook and answers
// as soon as a change commits, or with an empty page (and the same cursor)
// when the wait is over.
func (a *API) sync(w http.ResponseWriter, r *http.Request, actor messenger.Actor) {
	wait, err := queryInt(r, "wait", 0)
	if err != nil {
		a.edge.WriteError(w, r, err)
		return
	}
	if wait < 0 {
		a.edge.WriteError(w, r, httpx.NewError(messenger.EINVALID, "query parameter wait must be between 0 and 30 seconds"))
		return
	}
	limit, err := queryInt(r, "limit", 0)
	if err != nil {
		a.edge.WriteError(w, r, err)
		return
	}
	// Larger waits are clamped, not refused: a client asking for 60 s is
	// served the longest poll we allow.
	d := a.cfg.MaxSyncWait
	if wait < int64(d/time.Second) {
		d = time.Duration(wait) * time.Second
	}
	since, err := queryString(r, "since")
	if err != nil {
		a.edge.WriteError(w, r, err)
		return
	}
	page, err := a.svc.Sync(r.Context(), actor, since, clampInt(limit))
	if err != nil {
		a.edge.WriteError(w, r, err)
		return
	}
	if len(page.Changes) > 0 || page.HasMore || d == 0 {
		a.edge.WriteJSON(w, r, http.StatusOK, page)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), d)
	defer cancel()
	// Close (server shutdown) ends the poll at once.
	defer context.AfterFunc(a.base, cancel)()
	for len(page.Changes) == 0 && !page.HasMore {
		if err := a.svc.Wait(ctx, actor.UserID, page.Cursor); err != nil {
			if ctx.Err() != nil {
				break // waited long enough: answer with no changes
			}
			a.edge.WriteError(w, r, err)
			return
		}
		next, err := a.svc.Sync(r.Context(), actor, page.Cursor, clampInt(limit))
		if err != nil {
			a.edge.WriteError(w, r, err)
			return
		}
		page = next
	}
	a.edge.WriteJSON(w, r, http.StatusOK, page)
}

// me answers GET /api/v1/me with the caller as the messenger knows them.
func (a *API) me(w http.ResponseWriter, r *http.Request, actor messenger.Actor) {
	if err := a.svc.Touch(r.Context(), actor); err != nil {
		a.edge.WriteError(w, r, err)
		return
	}
	u, err := a.svc.GetUser(r.Context(), actor.UserID)
	if err != nil {
		a.edge.WriteError(w, r, err)
		return
	}
	a.edge.WriteJSON(w, r, http.StatusOK, u)
}
