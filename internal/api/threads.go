package api

import (
	"net/http"

	"github.com/parleyhq/parley/internal/httpx"
	"github.com/parleyhq/parley/internal/messenger"
)

// Request bodies. Every field is listed: unknown fields are rejected.
type (
	createThreadRequest struct {
		Subject      string               `json:"subject"`
		Participants []participantRequest `json:"participants"`
	}
	participantRequest struct {
		ID   string         `json:"id"`
		Role messenger.Role `json:"role"`
		Name string         `json:"name"`
	}
	sendRequest struct {
		ClientID    string   `json:"clientId"`
		Content     string   `json:"content"`
		Attachments []string `json:"attachments"`
		// OnBehalfOf is for service tokens only.
		OnBehalfOf string `json:"onBehalfOf"`
	}
	editRequest struct {
		Content *string `json:"content"`
	}
	readRequest struct {
		Seq *int64 `json:"seq"`
	}
)

func (a *API) createThread(w http.ResponseWriter, r *http.Request, actor messenger.Actor) {
	var req createThreadRequest
	if err := decodeJSON(w, r, a.cfg.MaxBodyBytes, &req, false); err != nil {
		a.edge.WriteError(w, r, err)
		return
	}
	in := messenger.NewThread{Subject: req.Subject}
	for _, p := range req.Participants {
		in.Participants = append(in.Participants, messenger.ParticipantInput{ID: p.ID, Role: p.Role, Name: p.Name})
	}
	t, err := a.svc.CreateThread(r.Context(), actor, in)
	if err != nil {
		a.edge.WriteError(w, r, err)
		return
	}
	a.edge.WriteJSON(w, r, http.StatusCreated, t)
}

func (a *API) listThreads(w http.ResponseWriter, r *http.Request, actor messenger.Actor) {
	limit, err := queryInt(r, "limit", 0)
	if err != nil {
		a.edge.WriteError(w, r, err)
		return
	}
	cursor, err := queryString(r, "cursor")
	if err != nil {
		a.edge.WriteError(w, r, err)
		return
	}
	page, err := a.svc.ListThreads(r.Context(), actor, cursor, clampInt(limit))
	if err != nil {
		a.edge.WriteError(w, r, err)
		return
	}
	a.edge.WriteJSON(w, r, http.StatusOK, page)
}

func (a *API) getThread(w http.ResponseWriter, r *http.Request, actor messenger.Actor) {
	t, err := a.svc.GetThread(r.Context(), actor, r.PathValue("id"))
	if err != nil {
		a.edge.WriteError(w, r, err)
		return
	}
	a.edge.WriteJSON(w, r, http.StatusOK, t)
}

func (a *API) sendMessage(w http.ResponseWriter, r *http.Request, actor messenger.Actor) {
	if ok, retry := a.sends.allow(actor.UserID); !ok {
		w.Header().Set("Retry-After", retry)
		a.edge.WriteError(w, r, httpx.NewError(httpx.CodeRateLimited, "too many messages; retry after "+retry+" s"))
		return
	}
	var req sendRequest
	if err := decodeJSON(w, r, a.cfg.MaxBodyBytes, &req, false); err != nil {
		a.edge.WriteError(w, r, err)
		return
	}
	threadID := r.PathValue("id")
	msg, dup, err := a.svc.SendMessage(r.Context(), actor, threadID, messenger.NewMessage{
		ClientID: req.ClientID, Content: req.Content, AttachmentIDs: req.Attachments, OnBehalfOf: req.OnBehalfOf,
	})
	if err != nil {
		a.edge.WriteError(w, r, err)
		return
	}
	// Sending ends typing, as every chat client expects.
	a.typing.stop(threadID, msg.SenderID)
	status := http.StatusCreated
	if dup {
		status = http.StatusOK
	}
	a.edge.WriteJSON(w, r, status, msg)
}

func (a *API) listMessages(w http.ResponseWriter, r *http.Request, actor messenger.Actor) {
	var q messenger.MessageQuery
	var err error
	if q.Before, err = queryInt(r, "before", 0); err != nil {
		a.edge.WriteError(w, r, err)
		return
	}
	if q.After, err = queryInt(r, "after", 0); err != nil {
		a.edge.WriteError(w, r, err)
		return
	}
	limit, err := queryInt(r, "limit", 0)
	if err != nil {
		a.edge.WriteError(w, r, err)
		return
	}
	q.Limit = clampInt(limit)
	page, err := a.svc.ListMessages(r.Context(), actor, r.PathValue("id"), q)
	if err != nil {
		a.edge.WriteError(w, r, err)
		return
	}
	a.edge.WriteJSON(w, r, http.StatusOK, page)
}

func (a *API) editMessage(w http.ResponseWriter, r *http.Request, actor messenger.Actor) {
	var req editRequest
	if err := decodeJSON(w, r, a.cfg.MaxBodyBytes, &req, false); err != nil {
		a.edge.WriteError(w, r, err)
		return
	}
	if req.Content == nil {
		a.edge.WriteError(w, r, httpx.NewError(messenger.EINVALID, "field \"content\" is required"))
		return
	}
	m, err := a.svc.EditMessage(r.Context(), actor, r.PathValue("id"), r.PathValue("mid"), *req.Content)
	if err != nil {
		a.edge.WriteError(w, r, err)
		return
	}
	a.edge.WriteJSON(w, r, http.StatusOK, m)
}

func (a *API) deleteMessage(w http.ResponseWriter, r *http.Request, actor messenger.Actor) {
	m, err := a.svc.DeleteMessage(r.Context(), actor, r.PathValue("id"), r.PathValue("mid"))
	if err != nil {
		a.edge.WriteError(w, r, err)
		return
	}
	a.edge.WriteJSON(w, r, http.StatusOK, m)
}

func (a *API) markRead(w http.ResponseWriter, r *http.Request, actor messenger.Actor) {
	var req readRequest
	if err := decodeJSON(w, r, a.cfg.MaxBodyBytes, &req, false); err != nil {
		a.edge.WriteError(w, r, err)
		return
	}
	if req.Seq == nil {
		a.edge.WriteError(w, r, httpx.NewError(messenger.EINVALID, "field \"seq\" is required"))
		return
	}
	rc, err := a.svc.MarkRead(r.Context(), actor, r.PathValue("id"), *req.Seq)
	if err != nil {
		a.edge.WriteError(w, r, err)
		return
	}
	a.edge.WriteJSON(w, r, http.StatusOK, rc)
}

// clampInt narrows a parsed limit; values past int's range become a value
// the service rejects as out of range rather than wrapping around.
func clampInt(n int64) int {
	const maxInt = int64(^uint(0) >> 1)
	switch {
	case n > maxInt:
		return int(maxInt)
	case n < -maxInt:
		return -int(maxInt)
	}
	return int(n)
}
