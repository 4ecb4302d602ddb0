package messenger

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

func (s *Service) createThread(ctx context.Context, actor Actor, in NewThread) (*Thread, error) {
	if err := s.touch(ctx, actor); err != nil {
		return nil, err
	}
	if !utf8.ValidString(in.Subject) || utf8.RuneCountInString(in.Subject) > MaxSubjectRunes {
		return nil, Errorf(EINVALID, "subject must be valid UTF-8 of at most %d characters", MaxSubjectRunes)
	}
	isService := actor.Role == RoleService
	want := map[string]ParticipantInput{}
	var order []string
	if !isService {
		want[actor.UserID] = ParticipantInput{ID: actor.UserID, Role: actor.Role, Name: actor.Name}
		order = append(order, actor.UserID)
	}
	for _, p := range in.Participants {
		if !validID(p.ID) {
			return nil, Errorf(EINVALID, "invalid participant id")
		}
		if p.Role != "" && p.Role != RolePatient && p.Role != RoleProvider {
			return nil, Errorf(EINVALID, "participant role must be patient or provider")
		}
		if len(p.Name) > 4*MaxNameRunes || !utf8.ValidString(p.Name) {
			return nil, Errorf(EINVALID, "invalid participant name")
		}
		if _, dup := want[p.ID]; dup {
			continue
		}
		want[p.ID] = p
		order = append(order, p.ID)
	}
	if len(order) > s.cfg.MaxParticipants {
		return nil, Errorf(ETOOLARGE, "a thread has at most %d participants", s.cfg.MaxParticipants)
	}

	var out *Thread
	err := s.store.Write(ctx, func(ctx context.Context, tx Tx) error {
		now := s.now()
		known, err := tx.GetUsers(ctx, order)
		if err != nil {
			return err
		}
		byID := map[string]User{}
		for _, u := range known {
			byID[u.ID] = u
		}
		users := make([]User, 0, len(order))
		var patients, providers int
		for _, id := range order {
			u, ok := byID[id]
			p := want[id]
			switch {
			case id == actor.UserID && !isService:
				u = User{ID: id, Role: actor.Role, Name: actor.Name, LastSeen: u.LastSeen}
			case isService && p.Role != "":
				// The host backend is authoritative for who its users are.
				if !ok || u.Role != p.Role || (p.Name != "" && u.Name != p.Name) {
					u = User{ID: id, Role: p.Role, Name: p.Name, LastSeen: u.LastSeen}
					if err := tx.UpsertUser(ctx, u); err != nil {
						return err
					}
				}
			case !ok:
				return Errorf(EINVALID, "unknown participant %q", id)
			}
			switch u.Role {
			case RolePatient:
				patients++
			case RoleProvider:
				providers++
			default:
				return Errorf(EINVALID, "participant %q is not a patient or provider", id)
			}
			users = append(users, u)
		}
		if providers == 0 {
			return Errorf(EINVALID, "a thread needs at least one provider")
		}
		if patients == 0 {
			return Errorf(EINVALID, "a thread needs at least one patient")
		}
		t := &Thread{ID: newID(), Subject: in.Subject, CreatedAt: now, LastActivity: now}
		if err := tx.InsertThread(ctx, t); err != nil {
			return err
		}
		channels := make([]string, 0, len(users))
		for _, u := range users {
			if err := tx.InsertParticipant(ctx, t.ID, u.ID); err != nil {
				return err
			}
			t.Participants = append(t.Participants, Participant{User: u})
			channels = append(channels, UserChannel(u.ID))
		}
		if err := tx.InsertChange(ctx, ChangeRecord{Kind: ChangeThreadCreated, ThreadID: t.ID, At: now}); err != nil {
			return err
		}
		data, _ := json.Marshal(ThreadCreatedEvent{ThreadID: t.ID, Subject: t.Subject, CreatedAt: now, Participants: users})
		if err := tx.InsertOutbox(ctx, []OutboxEntry{{Channels: channels, Event: EventThreadCreated, Data: data}}); err != nil {
			return err
		}
		if isService {
			if err := tx.InsertAudit(ctx, AuditEntry{ActorID: actor.UserID, Action: "thread.create", ThreadID: t.ID, At: now}); err != nil {
				return err
			}
		}
		out = t
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.afterCommit(participantIDs(out.Participants)...)
	s.decorate(out.Participants)
	return out, nil
}

func participantIDs(ps []Participant) []string {
	ids := make([]string, len(ps))
	for i, p := range ps {
		ids[i] = p.ID
	}
	return ids
}

// decorate fills in presence.
func (s *Service) decorate(ps []Participant) {
	if s.cfg.Presence == nil {
		return
	}
	for i := range ps {
		ps[i].Online = s.cfg.Presence.Online(ps[i].ID)
	}
}

func (s *Service) getThread(ctx context.Context, actor Actor, threadID string) (*Thread, error) {
	if err := s.touch(ctx, actor); err != nil {
		return nil, err
	}
	if !validID(threadID) {
		return nil, errThreadNotFound()
	}
	var t *Thread
	err := s.store.Read(ctx, func(ctx context.Context, tx Tx) error {
		r, err := tx.GetReceipt(ctx, threadID, actor.UserID)
		if err != nil {
			return err
		}
		if t, err = tx.GetThread(ctx, threadID); err != nil {
			return err
		}
		t.ReadSeq = r.Seq
		return s.fillThread(ctx, tx, t, actor.UserID, true)
	})
	if err != nil {
		return nil, notFoundAsThread(err)
	}
	return t, nil
}

// fillThread loads the last message, the caller's unread count and, when
// withParticipants, the participants with presence.
func (s *Service) fillThread(ctx context.Context, tx Tx, t *Thread, userID string, withParticipants bool) error {
	last, err := tx.ListMessages(ctx, t.ID, 0, 0, false, 1)
	if err != nil {
		return err
	}
	if len(last) > 0 {
		t.LastMessage = last[0]
	}
	if t.Unread, err = tx.CountUnread(ctx, t.ID, userID, t.ReadSeq); err != nil {
		return err
	}
	if withParticipants {
		if t.Participants, err = tx.ListParticipants(ctx, t.ID); err != nil {
			return err
		}
		s.decorate(t.Participants)
	}
	return nil
}

func (s *Service) listThreads(ctx context.Context, actor Actor, cursor string, limit int) (*ThreadPage, error) {
	if err := s.touch(ctx, actor); err != nil {
		return nil, err
	}
	if limit == 0 {
		limit = 50
	}
	if limit < 1 || limit > 100 {
		return nil, Errorf(EINVALID, "limit must be between 1 and 100")
	}
	var cur *ThreadCursor
	if cursor != "" {
		c, ok := parseThreadCursor(cursor)
		if !ok {
			return nil, Errorf(EINVALID, "malformed cursor")
		}
		cur = &c
	}
	page := &ThreadPage{Threads: []*Thread{}}
	err := s.store.Read(ctx, func(ctx context.Context, tx Tx) error {
		ts, err := tx.ListUserThreads(ctx, actor.UserID, cur, limit+1)
		if err != nil {
			return err
		}
		if len(ts) > limit {
			ts = ts[:limit]
			last := ts[limit-1]
			page.NextCursor = formatThreadCursor(ThreadCursor{LastActivity: last.LastActivity, ID: last.ID})
		}
		for _, t := range ts {
			if err := s.fillThread(ctx, tx, t, actor.UserID, true); err != nil {
				return err
			}
		}
		page.Threads = ts
		return nil
	})
	if err != nil {
		return nil, err
	}
	return page, nil
}

func formatThreadCursor(c ThreadCursor) string {
	raw := strconv.FormatInt(c.LastActivity.UnixMicro(), 10) + "." + c.ID
	return base64.RawURLEncoding.EncodeToString([]byte(raw))
}

func parseThreadCursor(s string) (ThreadCursor, bool) {
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return ThreadCursor{}, false
	}
	at, id, ok := strings.Cut(string(raw), ".")
	if !ok || !validID(id) {
		return ThreadCursor{}, false
	}
	us, err := strconv.ParseInt(at, 10, 64)
	if err != nil || us < 0 {
		return ThreadCursor{}, false
	}
	return ThreadCursor{LastActivity: time.UnixMicro(us).UTC(), ID: id}, true
}

func (s *Service) isParticipant(ctx context.Context, userID, threadID string) (bool, error) {
	if !validID(userID) || !validID(threadID) {
		return false, nil
	}
	var ok bool
	err := s.store.Read(ctx, func(ctx context.Context, tx Tx) error {
		_, err := tx.GetReceipt(ctx, threadID, userID)
		if ErrorCode(err) == ENOTFOUND {
			return nil
		}
		ok = err == nil
		return err
	})
	return ok, err
}

func (s *Service) sharesThread(ctx context.Context, a, b string) (bool, error) {
	if !validID(a) || !validID(b) {
		return false, nil
	}
	if a == b {
		return true, nil
	}
	var ok bool
	err := s.store.Read(ctx, func(ctx context.Context, tx Tx) (err error) {
		ok, err = tx.SharesThread(ctx, a, b)
		return err
	})
	return ok, err
}

func (s *Service) partners(ctx context.Context, userID string) ([]string, error) {
	if !validID(userID) {
		return []string{}, nil
	}
	var ids []string
	err := s.store.Read(ctx, func(ctx context.Context, tx Tx) (err error) {
		ids, err = tx.Partners(ctx, userID)
		return err
	})
	if ids == nil {
		ids = []string{}
	}
	sort.Strings(ids)
	return ids, err
}

func (s *Service) getUser(ctx context.Context, userID string) (*User, error) {
	if !validID(userID) {
		return nil, Errorf(ENOTFOUND, "user not found")
	}
	var u *User
	err := s.store.Read(ctx, func(ctx context.Context, tx Tx) error {
		us, err := tx.GetUsers(ctx, []string{userID})
		if err != nil {
			return err
		}
		if len(us) == 0 {
			return Errorf(ENOTFOUND, "user not found")
		}
		u = &us[0]
		return nil
	})
	return u, err
}

func (s *Service) userWentOffline(ctx context.Context, userID string, at time.Time) error {
	if !validID(userID) {
		return nil
	}
	return s.store.Write(ctx, func(ctx context.Context, tx Tx) error {
		return tx.SetLastSeen(ctx, userID, at)
	})
}

func errThreadNotFound() error { return Errorf(ENOTFOUND, "thread not found") }

// notFoundAsThread turns any ENOTFOUND into the one "thread not found"
// message so that responses do not reveal which part was missing.
func notFoundAsThread(err error) error {
	if ErrorCode(err) == ENOTFOUND {
		return errThreadNotFound()
	}
	return err
}
