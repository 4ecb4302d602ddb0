// The chat controller: owns the state, talks to the server (REST + pusher-js
// + sync), and asks the views to render. One instance per page.
import { Timeline, ReadMarkers, sortThreads, readTarget, newClientId } from './store.js';
import { TypingSender, TypingTracker } from './typing.js';
import { bannerFor, pollAfter, shouldKick, retryDelay } from './connection.js';
import { normalizeMessage, normalizeChange, listOf } from './sync.js';
import { createPusher, channels, events } from './realtime.js';
import { ThreadView } from './threadview.js';
import { InboxView } from './inboxview.js';
import { $ } from './view.js';

const PAGE = 50;
const POLL_WAIT_S = 25;

export class App {
  /**
   * @param {import('./api.js').Api} api
   * @param {() => string} currentToken
   * @param {string} base
   */
  constructor(api, currentToken, base) {
    this.api = api;
    this.currentToken = currentToken;
    this.base = base;
    /** @type {{id:string, name:string, role:string}} */
    this.me = { id: '', name: '', role: '' };
    /** @type {Map<string, any>} */
    this.threads = new Map();
    /** @type {Map<string, Timeline & {loaded?:boolean}>} */
    this.timelines = new Map();
    /** @type {Map<string, ReadMarkers>} */
    this.reads = new Map();
    /** @type {Map<string, TypingTracker>} */
    this.typing = new Map();
    /** @type {Map<string, {online:boolean, lastSeen:string|null}>} */
    this.presence = new Map();
    /** @type {Map<string, {name:string, role:string}>} */
    this.users = new Map();
    /** @type {string|null} */
    this.current = null;
    /** @type {string|null} */
    this.cursor = null;
    /** @type {import('./connection.js').LinkState} */
    this.link = { state: 'initialized', everConnected: false, polling: false, reachable: null, catchingUp: false };
    /** @type {ReturnType<typeof setTimeout>|null} */
    this.pollTimer = null;
    this.lastKick = 0;
    /** @type {Promise<unknown>} serializes sync requests, so the cursor only moves forward */
    this.syncLock = Promise.resolve();
    /** @type {any} */
    this.pusher = null;
    this.typingSender = new TypingSender();
    /** @type {AbortController|null} */
    this.pollAbort = null;
    this.catchUpRunning = false;
    /** @type {Set<string>} users whose presence channel we subscribe to */
    this.watched = new Set();
    this.threadsStale = false;
    /** @type {Set<string>} users whose presence a channel has reported */
    this.livePresence = new Set();
    this.inboxView = new InboxView(this);
    this.threadView = new ThreadView(this);
  }

  async start() {
    this.me = await this.api.me();
    this.users.set(this.me.id, { name: this.me.name, role: this.me.role });
    $('whoami').textContent = `${this.me.name} · ${this.me.role}`;
    // The cursor is taken before the thread list so nothing committed in
    // between can be missed: at worst it is seen twice and deduplicated.
    await this.syncOnce(0).catch(() => { /* sync is best effort at start; realtime covers */ });
    await this.loadThreads();
    let cfg = null;
    try {
      cfg = await this.api.config();
    } catch (e) {
      console.warn('parley: no realtime config, long-polling', e);
    }
    if (cfg && cfg.appKey) this.connect(cfg);
    else this.startPolling();
    this.renderBanner();
  }

  // ---- threads and inbox ----

  async loadThreads() {
    const list = listOf(await this.api.threads(), 'threads');
    for (const t of list) this.upsertThread(t);
    this.inboxView.render();
    for (const t of this.threads.values()) this.watchParticipants(t);
  }

  /** @param {any} t a thread from the API */
  upsertThread(t) {
    const old = this.threads.get(t.id) || {};
    const participants = Array.isArray(t.participants) ? t.participants : old.participants || [];
    const last = normalizeMessage(t.lastMessage) || old.lastMessage || null;
    const thread = {
      ...old,
      id: t.id,
      subject: t.subject ?? t.title ?? old.subject ?? '',
      participants,
      lastMessage: last,
      unread: Number.isInteger(t.unread) ? t.unread : (Number.isInteger(t.unreadCount) ? t.unreadCount : old.unread || 0),
      lastActivity: t.lastActivity ?? t.updatedAt ?? last?.createdAt ?? t.createdAt ?? old.lastActivity,
    };
    this.threads.set(t.id, thread);
    const reads = this.readsOf(t.id);
    if (Number.isInteger(t.readSeq)) reads.advance(this.me.id, t.readSeq);
    for (const p of participants) {
      this.users.set(p.id, { name: p.name, role: p.role });
      const seq = p.lastReadSeq ?? p.readSeq ?? p.lastRead;
      if (Number.isInteger(seq)) reads.advance(p.id, seq);
      // REST presence is a snapshot; once the presence channel has
      // answered, it is the source of truth.
      if (p.id !== this.me.id && !this.livePresence.has(p.id)) {
        this.presence.set(p.id, { online: !!p.online, lastSeen: p.lastSeen ?? null });
      }
    }
    if (last) this.timelineOf(t.id).merge([last]);
    return thread;
  }

  /** @param {string} id */
  timelineOf(id) {
    let tl = this.timelines.get(id);
    if (!tl) this.timelines.set(id, (tl = new Timeline()));
    return tl;
  }

  /** @param {string} id */
  readsOf(id) {
    let r = this.reads.get(id);
    if (!r) this.reads.set(id, (r = new ReadMarkers()));
    return r;
  }

  /** @param {string} id */
  typingOf(id) {
    let t = this.typing.get(id);
    if (!t) this.typing.set(id, (t = new TypingTracker()));
    return t;
  }

  /** @param {any} t */
  others(t) {
    return (t.participants || []).filter((/** @type {any} */ p) => p.id !== this.me.id);
  }

  /** @param {any} t */
  titleOf(t) {
    if (t.subject) return t.subject;
    const names = this.others(t).map((/** @type {any} */ p) => p.name);
    return names.join(', ') || 'Conversation';
  }

  sortedThreads() {
    return sortThreads([...this.threads.values()]);
  }

  /**
   * What the page may say about userId's presence: null while the socket
   * is down (the last answer may be stale), else {online, lastSeen}.
   * @param {string} userId
   */
  presenceOf(userId) {
    if (this.link.state !== 'connected') return null;
    return this.presence.get(userId) || { online: false, lastSeen: null };
  }

  /** @param {string} userId */
  nameOf(userId) {
    return this.users.get(userId)?.name || 'Someone';
  }

  // ---- opening a thread ----

  /** @param {string} id */
  async open(id) {
    if (this.current && this.current !== id) this.leaveThread(this.current);
    this.current = id;
    this.typingSender = new TypingSender();
    this.inboxView.render();
    this.threadView.show(id);
    this.subscribeThread(id);
    const tl = this.timelineOf(id);
    try {
      if (!tl.loaded) {
        const body = await this.api.messages(id, { limit: PAGE });
        const page = listOf(body, 'messages');
        tl.merge(page.map(normalizeMessage).filter(Boolean));
        tl.hasMoreBefore = typeof body?.hasMore === 'boolean' ? body.hasMore : page.length >= PAGE;
        tl.loaded = true;
      } else {
        await this.fillAfter(id);
      }
      this.upsertThread(await this.api.thread(id));
    } catch (e) {
      this.threadView.error(`Could not load the conversation: ${/** @type {Error} */ (e).message}`);
    }
    if (this.current === id) this.threadView.render({ stickToBottom: true });
  }

  /** @param {string} id */
  leaveThread(id) {
    const stop = this.typingSender.stop();
    if (stop) this.sendTyping(id, stop);
    if (this.pusher) this.pusher.unsubscribe(channels.thread(id));
  }

  /** Loads the page before the oldest loaded message (infinite scroll). */
  async loadOlder() {
    const id = this.current;
    if (!id) return false;
    const tl = this.timelineOf(id);
    if (!tl.hasMoreBefore || tl.minSeq <= 1 || tl.loadingOlder) return false;
    tl.loadingOlder = true;
    try {
      const body = await this.api.messages(id, { before: tl.minSeq, limit: PAGE });
      const page = listOf(body, 'messages');
      tl.merge(page.map(normalizeMessage).filter(Boolean));
      const more = typeof body?.hasMore === 'boolean' ? body.hasMore : page.length >= PAGE;
      tl.hasMoreBefore = more && tl.minSeq > 1;
      return true;
    } finally {
      tl.loadingOlder = false;
    }
  }

  /** Fetches everything after the newest message held, page by page. @param {string} id */
  async fillAfter(id) {
    const tl = this.timelineOf(id);
    for (let i = 0; i < 20; i++) {
      const page = listOf(await this.api.messages(id, { after: tl.maxSeq, limit: PAGE }), 'messages');
      const msgs = page.map(normalizeMessage).filter(Boolean);
      tl.merge(msgs);
      if (msgs.length < PAGE) break;
    }
  }

  // ---- applying server news, whatever the transport ----

  /**
   * @param {import('./store.js').Message} m
   * @param {{fromSync?:boolean}} [opts]
   */
  async applyMessage(m, opts = {}) {
    const tl = this.timelineOf(m.threadId);
    const gap = tl.loaded && !opts.fromSync ? tl.gapBefore(/** @type {number} */ (m.seq)) : null;
    const { added, updated } = tl.merge([m]);
    if (gap) {
      // A live event skipped seqs (missed while reconnecting): fetch them.
      await this.fillAfterGap(m.threadId, gap.after).catch((e) => console.warn('parley: gap fill failed', e));
    }
    if (!added && !updated && !gap) return;
    let t = this.threads.get(m.threadId);
    if (!t) {
      t = await this.refreshThread(m.threadId);
      if (!t) return;
    }
    const newest = tl.get(tl.maxSeq);
    if (newest) {
      t.lastMessage = newest;
      t.lastActivity = newest.createdAt || t.lastActivity;
    }
    if (added && m.senderId === this.me.id) this.readsOf(m.threadId).advance(this.me.id, /** @type {number} */ (m.seq));
    if (added && m.senderId !== this.me.id) {
      this.typingOf(m.threadId).stop(m.senderId);
      // Unread counts come from the server (inbox events, thread list);
      // a sync that brought news refreshes the list.
      if (opts.fromSync && m.threadId !== this.current) this.threadsStale = true;
    }
    this.inboxView.render();
    if (m.threadId === this.current) {
      this.threadView.render({});
      this.threadView.renderTyping();
    }
  }

  /** @param {string} threadId @param {number} after */
  async fillAfterGap(threadId, after) {
    const tl = this.timelineOf(threadId);
    for (let cur = after, i = 0; i < 20; i++) {
      const page = listOf(await this.api.messages(threadId, { after: cur, limit: PAGE }), 'messages');
      const msgs = page.map(normalizeMessage).filter(Boolean);
      tl.merge(msgs);
      if (msgs.length < PAGE) break;
      cur = Math.max(...msgs.map((x) => /** @type {number} */ (x.seq)));
    }
  }

  /** @param {{threadId:string, userId:string, seq:number}} r */
  applyRead(r) {
    if (!this.readsOf(r.threadId).advance(r.userId, r.seq)) return;
    if (r.userId === this.me.id) {
      const t = this.threads.get(r.threadId);
      if (t && r.seq >= this.timelineOf(r.threadId).maxSeq) t.unread = 0;
      this.inboxView.render();
    }
    if (r.threadId === this.current) this.threadView.renderTicks();
  }

  /** @param {string} id */
  async refreshThread(id) {
    try {
      const t = this.upsertThread(await this.api.thread(id));
      this.watchParticipants(t);
      this.inboxView.render();
      return t;
    } catch (e) {
      console.warn('parley: thread refresh failed', e);
      return null;
    }
  }

  /** @param {any} body a sync response */
  async applySync(body) {
    const changes = Array.isArray(body?.changes) ? body.changes : [];
    const sorted = changes.map(normalizeChange).filter(Boolean);
    // Apply messages in (thread, seq) order so timelines grow in order.
    sorted.sort((/** @type {any} */ a, /** @type {any} */ b) => (a.message?.seq || 0) - (b.message?.seq || 0));
    for (const c of sorted) {
      if (c.kind === 'message') await this.applyMessage(c.message, { fromSync: true });
      else if (c.kind === 'read') this.applyRead(c);
      else if (c.kind === 'thread') {
        this.watchParticipants(this.upsertThread(c.thread));
        this.inboxView.render();
      }
    }
    if (body && body.cursor !== undefined && body.cursor !== null) this.cursor = String(body.cursor);
    return sorted.length;
  }

  /**
   * One sync request; returns how many changes it applied. Before the first
   * cursor is known, it only asks where "now" is (`since=now`; the thread
   * list loaded next is the baseline) and applies nothing.
   * @param {number} wait @param {AbortSignal} [signal]
   */
  syncOnce(wait, signal) {
    const run = this.syncLock.then(() => this.syncOnceLocked(wait, signal));
    this.syncLock = run.catch(() => {});
    return run;
  }

  /** @param {number} wait @param {AbortSignal} [signal] */
  async syncOnceLocked(wait, signal) {
    if (this.cursor === null) {
      const body = await this.api.sync('now', 0, signal);
      this.cursor = String(body?.cursor ?? '');
      return 0;
    }
    const body = await this.api.sync(this.cursor, wait, signal);
    const n = await this.applySync(body);
    if (this.threadsStale) {
      this.threadsStale = false;
      await this.loadThreads().catch((e) => console.warn('parley: thread refresh failed', e));
    }
    return body?.hasMore ? Math.max(n, 1) : n;
  }

  /** After a reconnect: everything missed, from the sync endpoint. */
  async catchUp() {
    if (this.catchUpRunning) return;
    this.catchUpRunning = true;
    this.link.catchingUp = true;
    this.renderBanner();
    try {
      for (let i = 0; i < 50; i++) {
        const n = await this.syncOnce(0);
        if (n === 0) break;
      }
      if (this.current) {
        await this.fillAfter(this.current);
        this.threadView.render({});
      }
    } catch (e) {
      console.warn('parley: catch-up failed', e);
    } finally {
      this.catchUpRunning = false;
      this.link.catchingUp = false;
      this.renderBanner();
    }
  }

  /**
   * Starts long-polling in ms (0 = now) unless polling already runs or is
   * already scheduled.
   * @param {number} ms
   */
  schedulePolling(ms) {
    if (this.link.polling || this.pollTimer) return;
    if (ms <= 0) return this.startPolling();
    this.pollTimer = setTimeout(() => {
      this.pollTimer = null;
      if (this.link.state !== 'connected') this.startPolling();
    }, ms);
  }

  startPolling() {
    if (this.link.polling) return;
    this.link.polling = true;
    this.link.reachable = null;
    this.renderBanner();
    const abort = (this.pollAbort = new AbortController());
    const { signal } = abort;
    (async () => {
      let attempt = 0;
      while (!signal.aborted) {
        try {
          // Until the server has answered, ask without waiting: a quick
          // answer is what tells that it is back.
          await this.syncOnce(this.link.reachable === true ? POLL_WAIT_S : 0, signal);
          attempt = 0;
          if (!signal.aborted) this.setReachable(true);
        } catch (e) {
          if (signal.aborted) break;
          this.setReachable(false);
          await sleep(retryDelay(attempt++), signal);
        }
      }
    })();
  }

  stopPolling() {
    if (this.pollTimer) clearTimeout(this.pollTimer);
    this.pollTimer = null;
    if (!this.link.polling) return;
    this.link.polling = false;
    this.link.reachable = null;
    this.pollAbort?.abort();
    this.pollAbort = null;
  }

  /**
   * Records whether the last poll reached the server; when it just came
   * back, the socket is retried now rather than on pusher-js's schedule.
   * @param {boolean} ok
   */
  setReachable(ok) {
    const was = this.link.reachable;
    this.link.reachable = ok;
    if (ok && this.pusher && shouldKick({ state: this.link.state, everConnected: this.link.everConnected, wasReachable: was, now: Date.now(), lastKick: this.lastKick })) {
      this.lastKick = Date.now();
      console.info('parley: server reachable, reconnecting the socket now');
      this.pusher.disconnect();
      this.pusher.connect();
    }
    if (was !== ok) this.renderBanner();
  }

  renderBanner() {
    const b = bannerFor(this.link);
    const el = $('banner');
    el.hidden = !b.visible;
    el.className = `banner banner-${b.tone}`;
    el.textContent = b.text;
    el.dataset.state = this.link.state !== 'connected' && this.link.polling && this.link.reachable ? 'polling' : this.link.state;
  }

  // ---- realtime ----

  /** @param {any} cfg */
  connect(cfg) {
    const pusher = (this.pusher = createPusher(cfg, this.base, this.currentToken));
    pusher.connection.bind('state_change', (/** @type {{previous:string, current:string}} */ s) => {
      const wasConnected = this.link.everConnected;
      const wasPolling = this.link.polling;
      // States only, never payloads: useful in a support session.
      console.info(`parley: connection ${s.previous} → ${s.current}`);
      this.link.state = s.current;
      if (s.current === 'connected') {
        this.link.everConnected = true;
        this.stopPolling();
        if (wasConnected || wasPolling) this.catchUp();
      } else {
        const ms = pollAfter(s.current, this.link.everConnected);
        if (ms !== null) this.schedulePolling(ms);
      }
      this.renderBanner();
      if ((s.previous === 'connected') !== (s.current === 'connected')) {
        // Presence is only known over a live socket.
        this.inboxView.render();
        if (this.current) this.threadView.renderHeader();
      }
    });
    // pusher-js starts connecting in its constructor, before the handler
    // above was bound: schedule the fallback for the state it is in now.
    this.link.state = pusher.connection.state;
    const ms = pollAfter(this.link.state, false);
    if (ms !== null) this.schedulePolling(ms);
    const inbox = pusher.subscribe(channels.user(this.me.id));
    inbox.bind(events.inboxMessage, (/** @type {any} */ e) => this.onInbox(e));
    inbox.bind(events.inboxUpdate, (/** @type {any} */ e) => this.onInbox(e));
    inbox.bind(events.threadCreated, (/** @type {any} */ e) => {
      if (e && typeof e.threadId === 'string') this.refreshThread(e.threadId);
    });
    // Announce ourselves: others watch presence-user-{me}.
    this.subscribePresence(this.me.id);
    for (const id of this.watched) this.subscribePresence(id);
    pusher.signin();
    if (this.current) this.subscribeThread(this.current);
  }

  /** @param {{threadId:string, seq:number, senderId:string, unread?:number}} e */
  async onInbox(e) {
    if (!e || typeof e.threadId !== 'string') return;
    let t = this.threads.get(e.threadId);
    if (!t) t = await this.refreshThread(e.threadId);
    if (!t) return;
    const myRead = this.readsOf(e.threadId).of(this.me.id);
    if (Number.isInteger(e.unread) && e.seq > myRead && e.threadId !== this.current) t.unread = e.unread;
    t.lastActivity = new Date().toISOString();
    const tl = this.timelineOf(e.threadId);
    if (e.seq > tl.maxSeq) {
      // The inbox event carries no content; fetch the new message(s).
      try {
        const page = listOf(await this.api.messages(e.threadId, { after: tl.maxSeq || e.seq - 1, limit: PAGE }), 'messages');
        for (const m of page.map(normalizeMessage).filter(Boolean)) await this.applyMessage(/** @type {any} */ (m));
      } catch (err) {
        console.warn('parley: inbox fetch failed', err);
      }
    }
    this.inboxView.render();
  }

  /** @param {any} t */
  watchParticipants(t) {
    for (const p of this.others(t)) {
      if (this.watched.has(p.id)) continue;
      this.watched.add(p.id);
      if (this.pusher) this.subscribePresence(p.id);
    }
  }

  /** @param {string} userId */
  subscribePresence(userId) {
    const ch = this.pusher.subscribe(channels.presence(userId));
    if (userId === this.me.id) return;
    const set = (/** @type {boolean} */ online, /** @type {boolean} */ justNow) => {
      const prev = this.presence.get(userId) || { online: false, lastSeen: null };
      this.livePresence.add(userId);
      this.presence.set(userId, { online, lastSeen: !online && justNow ? new Date().toISOString() : prev.lastSeen });
      this.inboxView.render();
      if (this.current) this.threadView.renderHeader();
    };
    ch.bind('pusher:subscription_succeeded', (/** @type {any} */ members) => {
      set(!!(members && members.get && members.get(userId)), false);
    });
    ch.bind('pusher:member_added', (/** @type {any} */ m) => { if (m && m.id === userId) set(true, false); });
    ch.bind('pusher:member_removed', (/** @type {any} */ m) => { if (m && m.id === userId) set(false, true); });
  }

  /** @param {string} id */
  subscribeThread(id) {
    if (!this.pusher) return;
    const ch = this.pusher.subscribe(channels.thread(id));
    ch.unbind_all();
    const onMsg = (/** @type {any} */ raw) => {
      const m = normalizeMessage(raw);
      if (m) this.applyMessage(m);
    };
    ch.bind(events.newMessage, onMsg);
    ch.bind(events.messageUpdated, onMsg);
    ch.bind(events.messageDeleted, (/** @type {any} */ raw) => {
      const m = normalizeMessage({ ...raw, deleted: true });
      if (m) this.applyMessage(m);
    });
    ch.bind(events.messageRead, (/** @type {any} */ r) => {
      if (r && Number.isInteger(r.seq)) this.applyRead(r);
    });
    const typingOn = (/** @type {any} */ e) => {
      if (!e || !e.userId || e.userId === this.me.id) return;
      this.typingOf(id).start(e.userId, Date.now());
      if (this.current === id) this.threadView.renderTyping();
    };
    const typingOff = (/** @type {any} */ e) => {
      if (!e || !e.userId) return;
      this.typingOf(id).stop(e.userId);
      if (this.current === id) this.threadView.renderTyping();
    };
    ch.bind(events.typingStart, typingOn);
    ch.bind(events.clientTypingStart, typingOn);
    ch.bind(events.typingStop, typingOff);
    ch.bind(events.clientTypingStop, typingOff);
    // Anything sent between the history load and the subscription.
    ch.bind('pusher:subscription_succeeded', () => {
      const tl = this.timelineOf(id);
      if (tl.loaded) this.fillAfter(id).then(() => this.current === id && this.threadView.render({})).catch(() => {});
    });
  }

  /** @param {string} threadId @param {'start'|'stop'} kind */
  sendTyping(threadId, kind) {
    const ch = this.pusher?.channel(channels.thread(threadId));
    if (!ch || !ch.subscribed) return;
    ch.trigger(kind === 'start' ? events.clientTypingStart : events.clientTypingStop, { threadId, userId: this.me.id });
  }

  /** Called by the composer on every input. @param {boolean} empty */
  onComposerInput(empty) {
    if (!this.current) return;
    const what = this.typingSender.input(Date.now(), empty);
    if (what) this.sendTyping(this.current, what);
  }

  onComposerIdle() {
    if (!this.current) return;
    const what = this.typingSender.stop();
    if (what) this.sendTyping(this.current, what);
  }

  // ---- actions ----

  /**
   * Sends a message; a retry reuses the client id so the server stores it
   * once.
   * @param {string} threadId
   * @param {string} content
   * @param {any[]} attachments uploaded attachments
   * @param {string} [clientId]
   */
  async send(threadId, content, attachments, clientId = newClientId()) {
    const tl = this.timelineOf(threadId);
    tl.addPending({ threadId, clientId, senderId: this.me.id, content, attachments, createdAt: new Date().toISOString() });
    this.onComposerIdle();
    if (threadId === this.current) this.threadView.render({ stickToBottom: true });
    try {
      const raw = await this.api.send(threadId, { clientId, content, attachments: attachments.map((a) => a.id) });
      const m = normalizeMessage(raw);
      if (m) await this.applyMessage(m);
    } catch (e) {
      tl.failPending(clientId);
      if (threadId === this.current) this.threadView.render({});
      throw e;
    }
  }

  /** @param {string} threadId @param {string} clientId */
  async retry(threadId, clientId) {
    const p = this.timelineOf(threadId).pending.get(clientId);
    if (!p) return;
    await this.send(threadId, p.content, p.attachments || [], clientId);
  }

  /** @param {import('./store.js').Message} m @param {string} content */
  async edit(m, content) {
    const raw = await this.api.edit(m.threadId, /** @type {string} */ (m.id), content);
    const n = normalizeMessage(raw) || { ...m, content, editedAt: new Date().toISOString() };
    await this.applyMessage(n);
  }

  /** @param {import('./store.js').Message} m */
  async remove(m) {
    const raw = await this.api.remove(m.threadId, /** @type {string} */ (m.id));
    const n = normalizeMessage(raw) || { ...m };
    await this.applyMessage({ ...n, deleted: true, content: '' });
  }

  /**
   * Marks messages read once they are on screen.
   * @param {string} threadId
   * @param {Iterable<number>} visibleSeqs seqs of others' messages visible now
   */
  async markVisible(threadId, visibleSeqs) {
    const reads = this.readsOf(threadId);
    const target = readTarget(visibleSeqs, reads.of(this.me.id));
    if (!target) return;
    reads.advance(this.me.id, target);
    const t = this.threads.get(threadId);
    if (t) {
      const tl = this.timelineOf(threadId);
      t.unread = [...tl.bySeq.values()].filter((m) => /** @type {number} */ (m.seq) > target && m.senderId !== this.me.id && !m.deleted).length;
      this.inboxView.render();
    }
    try {
      await this.api.markRead(threadId, target);
    } catch (e) {
      console.warn('parley: mark read failed', e);
    }
  }
}

/**
 * Resolves after ms, or at once when signal aborts.
 * @param {number} ms @param {AbortSignal} signal
 */
function sleep(ms, signal) {
  return new Promise((resolve) => {
    const t = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
    function done() {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve(undefined);
    }
  });
}
