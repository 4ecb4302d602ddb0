package messenger

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
)

// errDuplicate aborts a send whose idempotency key exists; the savepoint
// rollback undoes the seq increment so seq stays gapless.
var errDuplicate = errors.New("messenger: duplicate client id")

func (s *Service) sendMessage(ctx context.Context, actor Actor, threadID string, in NewMessage) (*Message, bool, error) {
	if err := s.touch(ctx, actor); err != nil {
		return nil, false, err
	}
	sender := actor.UserID
	if actor.Role == RoleService {
		if in.OnBehalfOf == "" {
			return nil, false, Errorf(EINVALID, "a service must post on behalf of a participant")
		}
		if !validID(in.OnBehalfOf) {
			return nil, false, Errorf(EINVALID, "invalid onBehalfOf")
		}
		sender = in.OnBehalfOf
	} else if in.OnBehalfOf != "" && in.OnBehalfOf != actor.UserID {
		return nil, false, Errorf(EFORBIDDEN, "only a service may post on behalf of someone else")
	}
	if !validClientID(in.ClientID) {
		return nil, false, Errorf(EINVALID, "clientId is required: printable text of at most %d bytes", MaxClientIDLength)
	}
	if err := checkText(in.Content, s.cfg.MaxContentRunes); err != nil {
		return nil, false, err
	}
	atts, err := s.checkAttachmentIDs(in.AttachmentIDs)
	if err != nil {
		return nil, false, err
	}
	if strings.TrimSpace(in.Content) == "" && len(atts) == 0 {
		return nil, false, Errorf(EINVALID, "content is required")
	}
	if !validID(threadID) {
		return nil, false, errThreadNotFound()
	}

	// Authorization and the fast path for retries, outside the write lock.
	var existing *Message
	err = s.store.Read(ctx, func(ctx context.Context, tx Tx) (err error) {
		existing, err = tx.PriorSend(ctx, threadID, sender, in.ClientID)
		return err
	})
	if err != nil {
		return nil, false, notFoundAsThread(err)
	}
	if existing != nil {
		return existing, true, nil
	}

	ctx = WithWriteKey(ctx, threadID)
	var (
		msg        *Message
		recipients []string
	)
	for attempt := 0; ; attempt++ {
		err = s.store.Write(ctx, func(ctx context.Context, tx Tx) error {
			msg, recipients = nil, nil
			now := s.now()
			seq, err := tx.NextSeq(ctx, threadID, now)
			if err != nil {
				return err
			}
			m := &Message{ID: newID(), ThreadID: threadID, Seq: seq, SenderID: sender,
				Content: in.Content, ClientID: in.ClientID, CreatedAt: now, Attachments: []AttachmentRef{}}
			inserted, err := tx.InsertMessage(ctx, m)
			if err != nil {
				return err
			} else if !inserted {
				return errDuplicate
			}
			if len(atts) > 0 {
				if m.Attachments, err = tx.AttachToMessage(ctx, atts, sender, threadID, m.ID); err != nil {
					return err
				}
			}
			unread, err := tx.RecordSend(ctx, threadID, sender, seq, now)
			if err != nil {
				return err
			}
			for uid := range unread {
				recipients = append(recipients, uid)
				if uid != sender && s.cfg.WebhookURL != "" {
					err := tx.UpsertNotification(ctx, Notification{UserID: uid, ThreadID: threadID, MessageID: m.ID, Seq: seq, DueAt: now.Add(s.cfg.NotifyDelay)})
					if err != nil {
						return err
					}
				}
			}
			if err := tx.InsertOutbox(ctx, []OutboxEntry{sentEntry(m, unread)}); err != nil {
				return err
			}
			if err := tx.InsertChange(ctx, ChangeRecord{Kind: ChangeNewMessage, ThreadID: threadID, MessageID: m.ID, At: now}); err != nil {
				return err
			}
			if actor.Role == RoleService {
				if err := tx.InsertAudit(ctx, AuditEntry{ActorID: actor.UserID, Action: "message.send", ThreadID: threadID, MessageID: m.ID, At: now}); err != nil {
					return err
				}
			}
			msg = m
			return nil
		})
		if !errors.Is(err, errDuplicate) && !(ErrorCode(err) == ECONFLICT && attempt < 2) {
			break
		}
		// A concurrent retry with the same key won; return its message.
		var dup *Message
		rerr := s.store.Read(ctx, func(ctx context.Context, tx Tx) (err error) {
			dup, err = tx.GetMessageByClientID(ctx, threadID, sender, in.ClientID)
			return err
		})
		if rerr == nil {
			return dup, true, nil
		}
		if ErrorCode(rerr) != ENOTFOUND || attempt >= 2 {
			return nil, false, rerr
		}
	}
	if err != nil {
		return nil, false, notFoundAsThread(err)
	}
	s.afterCommit(recipients...)
	return msg, false, nil
}

func (s *Service) checkAttachmentIDs(ids []string) ([]string, error) {
	if len(ids) > s.cfg.MaxAttachments {
		return nil, Errorf(ETOOLARGE, "a message has at most %d attachments", s.cfg.MaxAttachments)
	}
	seen := map[string]bool{}
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		if !validID(id) {
			return nil, Errorf(EINVALID, "invalid attachment id")
		}
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out, nil
}

func (s *Service) listMessages(ctx context.Context, actor Actor, threadID string, q MessageQuery) (*MessagePage, error) {
	if err := s.touch(ctx, actor); err != nil {
		return nil, err
	}
	if q.Limit == 0 {
		q.Limit = 50
	}
	if q.Limit < 1 || q.Limit > 100 {
		return nil, Errorf(EINVALID, "limit must be between 1 and 100")
	}
	if q.Before < 0 || q.After < 0 || (q.Before > 0 && q.After >= q.Before) {
		return nil, Errorf(EINVALID, "before and after must be positive with after < before")
	}
	if !validID(threadID) {
		return nil, errThreadNotFound()
	}
	page := &MessagePage{}
	err := s.store.Read(ctx, func(ctx context.Context, tx Tx) error {
		if _, err := tx.GetReceipt(ctx, threadID, actor.UserID); err != nil {
			return err
		}
		ms, err := tx.ListMessages(ctx, threadID, q.After, q.Before, q.After > 0, q.Limit+1)
		if err != nil {
			return err
		}
		if len(ms) > q.Limit {
			page.HasMore = true
			if q.After > 0 {
				ms = ms[:q.Limit]
			} else {
				ms = ms[1:]
			}
		}
		page.Messages = ms
		return nil
	})
	if err != nil {
		return nil, notFoundAsThread(err)
	}
	if page.Messages == nil {
		page.Messages = []*Message{}
	}
	return page, nil
}

// changeMessage runs the shared part of edit and delete: visibility,
// ownership, then apply, then record the change and the event.
func (s *Service) changeMessage(ctx context.Context, actor Actor, threadID, messageID, kind string, apply func(ctx context.Context, tx Tx, m *Message) (changed bool, err error)) (*Message, error) {
	if err := s.touch(ctx, actor); err != nil {
		return nil, err
	}
	if !validID(threadID) {
		return nil, errThreadNotFound()
	}
	if !validID(messageID) {
		return nil, Errorf(ENOTFOUND, "message not found")
	}
	var (
		out   *Message
		users []string
	)
	err := s.store.Write(WithWriteKey(ctx, threadID), func(ctx context.Context, tx Tx) error {
		out, users = nil, nil
		if _, err := tx.GetReceipt(ctx, threadID, actor.UserID); err != nil {
			return notFoundAsThread(err)
		}
		m, err := tx.GetMessage(ctx, threadID, messageID)
		if err != nil {
			return err
		}
		if m.SenderID != actor.UserID {
			return Errorf(EFORBIDDEN, "only the sender may change a message")
		}
		changed, err := apply(ctx, tx, m)
		if err != nil {
			return err
		}
		out = m
		if !changed {
			return nil
		}
		if err := tx.UpdateMessage(ctx, m); err != nil {
			return err
		}
		if err := tx.InsertChange(ctx, ChangeRecord{Kind: kind, ThreadID: threadID, MessageID: m.ID, At: s.now()}); err != nil {
			return err
		}
		data, _ := json.Marshal(m)
		if err := tx.InsertOutbox(ctx, []OutboxEntry{{Channels: []string{ThreadChannel(threadID)}, Event: kind, Data: data}}); err != nil {
			return err
		}
		ps, err := tx.ListParticipants(ctx, threadID)
		users = participantIDs(ps)
		return err
	})
	if err != nil {
		return nil, err
	}
	s.afterCommit(users...)
	return out, nil
}

func (s *Service) editMessage(ctx context.Context, actor Actor, threadID, messageID, content string) (*Message, error) {
	if err := checkText(content, s.cfg.MaxContentRunes); err != nil {
		return nil, err
	}
	return s.changeMessage(ctx, actor, threadID, messageID, ChangeMessageUpdated, func(ctx context.Context, tx Tx, m *Message) (bool, error) {
		if m.DeletedAt != nil {
			return false, Errorf(ECONFLICT, "message was deleted")
		}
		if strings.TrimSpace(content) == "" && len(m.Attachments) == 0 {
			return false, Errorf(EINVALID, "content is required")
		}
		now := s.now()
		m.Content, m.EditedAt = content, &now
		return true, nil
	})
}

func (s *Service) deleteMessage(ctx context.Context, actor Actor, threadID, messageID string) (*Message, error) {
	return s.changeMessage(ctx, actor, threadID, messageID, ChangeMessageDeleted, func(ctx context.Context, tx Tx, m *Message) (bool, error) {
		if m.DeletedAt != nil {
			return false, nil
		}
		now := s.now()
		m.Content, m.DeletedAt, m.Attachments = "", &now, []AttachmentRef{}
		if err := tx.RecordDelete(ctx, threadID, m.SenderID, m.Seq); err != nil {
			return false, err
		}
		return true, tx.DetachMessageAttachments(ctx, m.ID)
	})
}

func (s *Service) markRead(ctx context.Context, actor Actor, threadID string, seq int64) (*Receipt, error) {
	if err := s.touch(ctx, actor); err != nil {
		return nil, err
	}
	if seq < 0 {
		return nil, Errorf(EINVALID, "seq must not be negative")
	}
	if !validID(threadID) {
		return nil, errThreadNotFound()
	}
	var (
		out   *Receipt
		users []string
	)
	err := s.store.Write(WithWriteKey(ctx, threadID), func(ctx context.Context, tx Tx) error {
		out, users = nil, nil
		r, err := tx.GetReceipt(ctx, threadID, actor.UserID)
		if err != nil {
			return err
		}
		t, err := tx.GetThread(ctx, threadID)
		if err != nil {
			return err
		}
		seq := min(seq, t.LastSeq)
		out = r
		if seq <= r.Seq {
			return nil
		}
		now := s.now()
		if _, err := tx.AdvanceRead(ctx, threadID, actor.UserID, seq, now); err != nil {
			return err
		}
		out = &Receipt{ThreadID: threadID, UserID: actor.UserID, Seq: seq, ReadAt: now}
		if err := tx.InsertChange(ctx, ChangeRecord{Kind: ChangeMessageRead, ThreadID: threadID, UserID: actor.UserID, Seq: seq, At: now}); err != nil {
			return err
		}
		unread, err := tx.CountUnread(ctx, threadID, actor.UserID, seq)
		if err != nil {
			return err
		}
		data, _ := json.Marshal(out)
		inbox, _ := json.Marshal(InboxEvent{ThreadID: threadID, Seq: t.LastSeq, Unread: unread})
		err = tx.InsertOutbox(ctx, []OutboxEntry{
			{Channels: []string{ThreadChannel(threadID)}, Event: EventMessageRead, Data: data},
			{Channels: []string{UserChannel(actor.UserID)}, Event: EventInbox, Data: inbox},
		})
		if err != nil {
			return err
		}
		ps, err := tx.ListParticipants(ctx, threadID)
		users = participantIDs(ps)
		return err
	})
	if err != nil {
		return nil, notFoundAsThread(err)
	}
	s.afterCommit(users...)
	return out, nil
}

func (s *Service) attachmentForDownload(ctx context.Context, actor Actor, id string) (*Attachment, error) {
	if err := checkActor(actor); err != nil {
		return nil, err
	}
	notFound := Errorf(ENOTFOUND, "attachment not found")
	if !validID(id) {
		return nil, notFound
	}
	a, err := s.store.GetAttachment(ctx, id)
	if err != nil {
		if ErrorCode(err) == ENOTFOUND {
			return nil, notFound
		}
		return nil, err
	}
	switch {
	case a.Status == AttachmentDeleted:
		return nil, notFound
	case a.OwnerID == actor.UserID:
		return a, nil
	case a.Status == AttachmentAttached:
		ok, err := s.isParticipant(ctx, actor.UserID, a.ThreadID)
		if err != nil {
			return nil, err
		}
		if ok {
			return a, nil
		}
	}
	return nil, notFound
}
