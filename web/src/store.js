// Pure chat state: threads, messages and read markers, with no DOM and no
// network, so that node --test can exercise every rule the UI relies on.
//
// The invariants, whatever order events arrive in (WebSocket, history page,
// sync catch-up, long-poll):
//   - a message is identified by (threadId, seq); seeing it twice keeps one copy,
//     and the newer edit wins;
//   - a thread's messages are always ordered by seq;
//   - a pending (optimistic) message is matched to the stored one by clientId;
//   - read markers only move forward.

/**
 * @typedef {{id:string, name:string, contentType:string, size:number, thumbnails?:any}} Attachment
 * @typedef {{id?:string, threadId:string, seq?:number, senderId:string, content:string,
 *   createdAt?:string, clientId?:string, editedAt?:string|null, deleted?:boolean,
 *   attachments?:Attachment[], pending?:boolean, failed?:boolean}} Message
 * @typedef {{id:string, name:string, role:string, online?:boolean, lastSeen?:string|null,
 *   lastReadSeq?:number}} Participant
 */

/** A thread's message timeline. */
export class Timeline {
  constructor() {
    /** @type {Map<number, Message>} */
    this.bySeq = new Map();
    /** @type {Map<string, Message>} optimistic sends not yet stored, by clientId */
    this.pending = new Map();
    this.maxSeq = 0;
    this.minSeq = 0;
    /** whether older history may exist before minSeq */
    this.hasMoreBefore = true;
    /** @type {Message[]|null} */
    this._sorted = null;
  }

  /**
   * Merges stored messages (with a seq). Returns how many were new and how
   * many replaced an existing copy; duplicates with nothing new count as
   * neither.
   * @param {Message[]} msgs
   */
  merge(msgs) {
    let added = 0;
    let updated = 0;
    for (const m of msgs) {
      if (!m || !Number.isInteger(m.seq) || m.seq <= 0) continue;
      if (m.clientId && this.pending.has(m.clientId)) this.pending.delete(m.clientId);
      const old = this.bySeq.get(m.seq);
      if (!old) {
        this.bySeq.set(m.seq, { ...m, pending: false });
        added++;
      } else if (isNewer(m, old)) {
        // Keep fields a partial event (e.g. message-deleted) does not carry.
        this.bySeq.set(m.seq, { ...old, ...m, pending: false });
        updated++;
      } else {
        continue;
      }
      if (m.seq > this.maxSeq) this.maxSeq = m.seq;
      if (this.minSeq === 0 || m.seq < this.minSeq) this.minSeq = m.seq;
      this._sorted = null;
    }
    return { added, updated };
  }

  /** @param {Message} m an optimistic message with a clientId and no seq */
  addPending(m) {
    this.pending.set(/** @type {string} */ (m.clientId), { ...m, pending: true });
    this._sorted = null;
  }

  /** @param {string} clientId */
  failPending(clientId) {
    const p = this.pending.get(clientId);
    if (p) {
      this.pending.set(clientId, { ...p, failed: true });
      this._sorted = null;
    }
  }

  /**
   * The seq range missing between what we hold and a newly announced seq, or
   * null when there is no gap. Only meaningful once the timeline has loaded
   * its latest page (maxSeq > 0).
   * @param {number} seq
   * @returns {{after:number, before:number}|null}
   */
  gapBefore(seq) {
    if (this.maxSeq === 0 || seq <= this.maxSeq + 1) return null;
    return { after: this.maxSeq, before: seq };
  }

  /** Stored messages in seq order, then pending sends in the order made. */
  list() {
    if (!this._sorted) {
      const stored = [...this.bySeq.values()].sort((a, b) => /** @type {number} */ (a.seq) - /** @type {number} */ (b.seq));
      this._sorted = stored.concat([...this.pending.values()]);
    }
    return this._sorted;
  }

  /** @param {number} seq */
  get(seq) {
    return this.bySeq.get(seq);
  }
}

/**
 * Whether incoming is a newer version of the same message than old: a
 * deletion beats everything, then the later edit.
 * @param {Message} incoming
 * @param {Message} old
 */
export function isNewer(incoming, old) {
  if (old.deleted) return false;
  if (incoming.deleted) return true;
  const a = Date.parse(incoming.editedAt || '') || 0;
  const b = Date.parse(old.editedAt || '') || 0;
  if (a !== b) return a > b;
  // Same version: only replace a copy that lacks fields the incoming has
  // (an inbox summary versus the full message).
  return (!old.attachments && !!incoming.attachments) || (!old.createdAt && !!incoming.createdAt);
}

/** Read markers of one thread: userId -> highest seq read. */
export class ReadMarkers {
  constructor() {
    /** @type {Map<string, number>} */
    this.byUser = new Map();
  }

  /**
   * Moves userId's marker forward; returns true when it moved.
   * @param {string} userId
   * @param {number} seq
   */
  advance(userId, seq) {
    if (!userId || !Number.isInteger(seq)) return false;
    const cur = this.byUser.get(userId) || 0;
    if (seq <= cur) return false;
    this.byUser.set(userId, seq);
    return true;
  }

  /**
   * Whether someone other than the sender has read up to seq.
   * @param {number} seq
   * @param {string} senderId
   */
  readByOthers(seq, senderId) {
    for (const [user, s] of this.byUser) {
      if (user !== senderId && s >= seq) return true;
    }
    return false;
  }

  /** @param {string} userId */
  of(userId) {
    return this.byUser.get(userId) || 0;
  }
}

/**
 * Counts messages after the caller's marker that others sent.
 * @param {Timeline} tl
 * @param {string} me
 * @param {number} myReadSeq
 */
export function unreadIn(tl, me, myReadSeq) {
  let n = 0;
  for (const m of tl.bySeq.values()) {
    if (/** @type {number} */ (m.seq) > myReadSeq && m.senderId !== me && !m.deleted) n++;
  }
  return n;
}

/**
 * Sorts threads for the inbox: newest activity first, ties by id so the
 * order is stable.
 * @param {{id:string, lastActivity?:string}[]} threads
 */
export function sortThreads(threads) {
  return [...threads].sort((a, b) => {
    const ta = Date.parse(a.lastActivity || '') || 0;
    const tb = Date.parse(b.lastActivity || '') || 0;
    if (ta !== tb) return tb - ta;
    return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
  });
}

/**
 * The highest seq that is visible and sent by someone else: what the caller
 * should mark as read. Returns 0 when there is nothing new to mark.
 * @param {Iterable<number>} visibleSeqs
 * @param {number} alreadyRead
 */
export function readTarget(visibleSeqs, alreadyRead) {
  let max = 0;
  for (const s of visibleSeqs) if (s > max) max = s;
  return max > alreadyRead ? max : 0;
}

/**
 * A client id for idempotent sends (retries reuse it): a UUIDv7 (RFC 9562),
 * 48 bits of Unix milliseconds then 74 random bits. Time-ordered ids land at
 * the end of the server's per-thread idempotency index instead of at random
 * places in it, which made each send's insert several times cheaper.
 * @param {number} [now] milliseconds since the epoch (tests)
 */
export function newClientId(now = Date.now()) {
  const b = new Uint8Array(16);
  globalThis.crypto.getRandomValues(b);
  let ms = now;
  for (let i = 5; i >= 0; i--) {
    b[i] = ms % 256;
    ms = Math.floor(ms / 256);
  }
  b[6] = 0x70 | (b[6] & 0x0f); // version 7
  b[8] = 0x80 | (b[8] & 0x3f); // RFC 9562 variant
  const h = [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
