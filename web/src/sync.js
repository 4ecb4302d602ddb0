// Normalisers for what the server sends: REST bodies, Pusher event payloads
// and sync changes all become the same few shapes, so the state code has one
// path whatever the transport.

/**
 * @param {any} m a message as sent by REST, an event or a sync change
 * @returns {import('./store.js').Message|null}
 */
export function normalizeMessage(m) {
  if (!m || typeof m !== 'object') return null;
  const seq = Number(m.seq);
  const threadId = m.threadId ?? m.thread_id;
  if (!Number.isInteger(seq) || seq <= 0 || typeof threadId !== 'string' || !threadId) return null;
  const deleted = !!(m.deleted || m.deletedAt || m.deleted_at);
  return {
    id: m.id,
    threadId,
    seq,
    senderId: m.senderId ?? m.sender_id ?? '',
    content: deleted ? '' : (typeof m.content === 'string' ? m.content : ''),
    createdAt: m.createdAt ?? m.created_at,
    clientId: m.clientId ?? m.client_id,
    editedAt: m.editedAt ?? m.edited_at ?? m.updatedAt ?? null,
    deleted,
    attachments: Array.isArray(m.attachments) ? m.attachments.filter((a) => a && typeof a === 'object') : undefined,
  };
}

const MESSAGE_KINDS = new Set([
  'message', 'new-message', 'message.created', 'message_created', 'message-created', 'created',
  'message-updated', 'message.updated', 'message_updated', 'message.edited', 'updated', 'edited',
]);
const DELETE_KINDS = new Set(['message-deleted', 'message.deleted', 'message_deleted', 'deleted']);
const READ_KINDS = new Set(['message-read', 'read', 'read.updated', 'receipt', 'read_marker', 'read-marker']);
const THREAD_KINDS = new Set(['thread', 'thread.created', 'thread-created', 'thread_created', 'new-thread']);

/**
 * One change from GET /api/v1/sync, as
 *   {kind:'message', message} | {kind:'read', threadId, userId, seq} | {kind:'thread', thread}
 * or null for kinds this client does not know (ignored, not fatal, so the
 * server can add kinds).
 * @param {any} c
 */
export function normalizeChange(c) {
  if (!c || typeof c !== 'object') return null;
  const kind = String(c.type ?? c.kind ?? c.event ?? '').toLowerCase();
  const body = c.message ?? c.data ?? c.payload ?? c;
  if (MESSAGE_KINDS.has(kind) || DELETE_KINDS.has(kind)) {
    const m = normalizeMessage(body);
    if (!m) return null;
    if (DELETE_KINDS.has(kind)) {
      m.deleted = true;
      m.content = '';
    }
    return { kind: 'message', message: m };
  }
  if (READ_KINDS.has(kind)) {
    const r = c.read ?? c.receipt ?? body;
    const seq = Number(r.seq);
    const threadId = r.threadId ?? r.thread_id;
    const userId = r.userId ?? r.user_id;
    if (!Number.isInteger(seq) || !threadId || !userId) return null;
    return { kind: 'read', threadId, userId, seq, readAt: r.readAt ?? r.read_at };
  }
  if (THREAD_KINDS.has(kind)) {
    const t = c.thread ?? body;
    if (!t || typeof t.id !== 'string') return null;
    return { kind: 'thread', thread: t };
  }
  return null;
}

/**
 * The array inside a list response, whether the server sends a bare array or
 * wraps it ({threads:[…]}, {messages:[…]}, {items:[…]}, {data:[…]}).
 * @param {any} body
 * @param {string} key
 * @returns {any[]}
 */
export function listOf(body, key) {
  if (Array.isArray(body)) return body;
  if (body && typeof body === 'object') {
    for (const k of [key, 'items', 'data', 'results']) if (Array.isArray(body[k])) return body[k];
  }
  return [];
}

/**
 * The next-page cursor of a list response, or null.
 * @param {any} body
 */
export function nextCursorOf(body) {
  if (!body || typeof body !== 'object' || Array.isArray(body)) return null;
  return body.nextCursor ?? body.next_cursor ?? body.cursor ?? null;
}
