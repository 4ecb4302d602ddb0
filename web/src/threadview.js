// The open conversation: history with infinite scroll upward, live messages,
// typing line, presence, read ticks, edit/delete, attachments and the
// composer.
import { h, $, timeOf, presenceText, sizeText } from './view.js';
import { typingText } from './typing.js';

const READ_DEBOUNCE_MS = 250;

export class ThreadView {
  /** @param {import('./app.js').App} app */
  constructor(app) {
    this.app = app;
    this.panel = $('thread');
    this.list = $('messages');
    this.title = $('thread-title');
    this.presence = $('thread-presence');
    this.typingLine = $('typing');
    this.form = /** @type {HTMLFormElement} */ ($('composer'));
    this.input = /** @type {HTMLTextAreaElement} */ ($('compose-input'));
    this.fileInput = /** @type {HTMLInputElement} */ ($('compose-file'));
    this.uploads = $('uploads');
    this.sendButton = /** @type {HTMLButtonElement} */ ($('compose-send'));
    this.status = $('thread-status');
    /** @type {string|null} */
    this.threadId = null;
    /** @type {Map<string, {el:HTMLElement, sig:string}>} */
    this.rendered = new Map();
    /** @type {Set<number>} seqs of others' messages on screen now */
    this.visible = new Set();
    /** @type {ReturnType<typeof setTimeout>|null} */
    this.readTimer = null;
    /** @type {ReturnType<typeof setTimeout>|null} */
    this.typingTimer = null;
    /** @type {{file:File, id?:string, meta?:any, progress:number, error?:string}[]} */
    this.pendingFiles = [];
    /** @type {number|null} seq being edited */
    this.editing = null;
    /** @type {number|null} seq whose delete is being confirmed */
    this.confirming = null;
    /** @type {Map<string, Promise<string>>} attachment id(+thumb) -> object URL */
    this.blobURLs = new Map();

    this.sentinel = h('li', { class: 'sentinel', 'aria-hidden': 'true' });
    this.olderObserver = new IntersectionObserver((entries) => {
      if (entries.some((e) => e.isIntersecting)) this.loadOlder();
    }, { root: this.list, rootMargin: '200px 0px 0px 0px' });
    this.readObserver = new IntersectionObserver((entries) => this.onVisibility(entries), { root: this.list, threshold: 0.5 });
    // When the list gets shorter (the uploads row or an error line
    // appears, the phone keyboard opens), a reader at the bottom stays there.
    this.atBottom = true;
    this.list.addEventListener('scroll', () => { this.atBottom = this.isAtBottom(); }, { passive: true });
    new ResizeObserver(() => {
      if (this.atBottom) this.list.scrollTop = this.list.scrollHeight;
    }).observe(this.list);
    document.addEventListener('visibilitychange', () => this.flushRead());
    this.wireComposer();
    $('back').addEventListener('click', () => this.close());
  }

  wireComposer() {
    this.form.addEventListener('submit', (e) => {
      e.preventDefault();
      this.submit();
    });
    this.input.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
        e.preventDefault();
        this.submit();
      }
    });
    this.input.addEventListener('input', () => {
      this.app.onComposerInput(this.input.value.trim() === '');
      this.updateSendState();
    });
    this.input.addEventListener('blur', () => this.app.onComposerIdle());
    this.fileInput.addEventListener('change', () => {
      for (const f of this.fileInput.files || []) this.addFile(f);
      this.fileInput.value = '';
    });
    this.panel.addEventListener('dragover', (e) => {
      if (!this.threadId) return;
      e.preventDefault();
      this.panel.classList.add('is-dragging');
    });
    this.panel.addEventListener('dragleave', () => this.panel.classList.remove('is-dragging'));
    this.panel.addEventListener('drop', (e) => {
      e.preventDefault();
      this.panel.classList.remove('is-dragging');
      for (const f of e.dataTransfer?.files || []) this.addFile(f);
    });
  }

  /** @param {string} id */
  show(id) {
    if (this.threadId !== id) {
      this.threadId = id;
      this.rendered.clear();
      this.visible.clear();
      this.readObserver.disconnect();
      this.olderObserver.disconnect();
      this.list.replaceChildren(this.sentinel);
      this.pendingFiles = [];
      this.renderUploads();
      this.editing = null;
      this.confirming = null;
      this.input.value = '';
      this.status.textContent = '';
    }
    document.body.classList.add('thread-open');
    this.panel.hidden = false;
    $('thread-empty').hidden = true;
    this.renderHeader();
    this.renderTyping();
    this.updateSendState();
    this.input.focus();
  }

  close() {
    if (this.threadId) this.app.leaveThread(this.threadId);
    const id = this.threadId;
    this.app.current = null;
    this.threadId = null;
    document.body.classList.remove('thread-open');
    this.panel.hidden = true;
    $('thread-empty').hidden = false;
    this.app.inboxView.render();
    requestAnimationFrame(() => {
      const el = document.querySelector(`[data-thread-id="${CSS.escape(id || '')}"]`);
      if (el instanceof HTMLElement) el.focus();
    });
  }

  /** @param {string} text */
  error(text) {
    this.status.textContent = text;
  }

  renderHeader() {
    const t = this.threadId ? this.app.threads.get(this.threadId) : null;
    if (!t) return;
    this.title.textContent = this.app.titleOf(t);
    const others = this.app.others(t);
    const parts = others.map((/** @type {any} */ p) => {
      const pr = this.app.presenceOf(p.id);
      return { name: p.name, online: !!pr?.online, text: presenceText(pr) };
    });
    const online = parts.some((p) => p.online);
    this.presence.textContent = parts.length === 1 ? parts[0].text : parts.filter((p) => p.text).map((p) => `${p.name}: ${p.text}`).join(' · ');
    // "unknown" while the socket is down: no stale "online" on screen.
    this.presence.dataset.online = this.app.link.state === 'connected' ? String(online) : 'unknown';
    this.presence.classList.toggle('is-online', online);
  }

  renderTyping() {
    if (!this.threadId) return;
    const tracker = this.app.typingOf(this.threadId);
    const names = tracker.active(Date.now()).map((u) => this.app.nameOf(u));
    this.typingLine.textContent = typingText(names);
    this.typingLine.dataset.active = String(names.length > 0);
    if (this.typingTimer) clearTimeout(this.typingTimer);
    this.typingTimer = null;
    const next = tracker.nextExpiry();
    if (next !== null) this.typingTimer = setTimeout(() => this.renderTyping(), Math.max(50, next - Date.now() + 20));
  }

  /** @param {{stickToBottom?:boolean}} opts */
  render(opts) {
    const id = this.threadId;
    if (!id) return;
    const tl = this.app.timelineOf(id);
    const atBottom = this.isAtBottom();
    const msgs = tl.list();
    /** @type {HTMLElement[]} */
    const els = [this.sentinel];
    const keep = new Set();
    for (const m of msgs) {
      const key = m.seq ? `s${m.seq}` : `c${m.clientId}`;
      keep.add(key);
      const sig = [m.content, m.editedAt, m.deleted, m.pending, m.failed, this.editing === m.seq, this.confirming === m.seq,
        (m.attachments || []).length].join('|');
      let r = this.rendered.get(key);
      if (!r || r.sig !== sig) {
        if (r) this.readObserver.unobserve(r.el);
        r = { el: this.messageEl(m), sig };
        this.rendered.set(key, r);
        if (m.seq && m.senderId !== this.app.me.id && !m.deleted) this.readObserver.observe(r.el);
      }
      els.push(r.el);
    }
    for (const [key, r] of this.rendered) {
      if (!keep.has(key)) {
        this.readObserver.unobserve(r.el);
        this.rendered.delete(key);
      }
    }
    // Older messages were prepended: keep the reader's place.
    const firstBefore = this.list.children[1];
    const offsetBefore = firstBefore instanceof HTMLElement ? firstBefore.offsetTop - this.list.scrollTop : 0;
    this.list.replaceChildren(...els);
    if (opts.stickToBottom || atBottom) {
      this.list.scrollTop = this.list.scrollHeight;
    } else if (firstBefore instanceof HTMLElement && firstBefore.isConnected) {
      this.list.scrollTop = firstBefore.offsetTop - offsetBefore;
    }
    this.atBottom = this.isAtBottom();
    this.sentinel.dataset.more = String(tl.hasMoreBefore);
    // Re-observing delivers a fresh entry, so a sentinel that is still on
    // screen after a page of history loads asks for the next page.
    this.olderObserver.unobserve(this.sentinel);
    if (tl.hasMoreBefore) this.olderObserver.observe(this.sentinel);
    this.renderTicks();
  }

  isAtBottom() {
    return this.list.scrollHeight - this.list.scrollTop - this.list.clientHeight < 60;
  }

  async loadOlder() {
    if (!this.threadId) return;
    try {
      if (await this.app.loadOlder()) this.render({});
    } catch (e) {
      this.error(`Could not load older messages: ${/** @type {Error} */ (e).message}`);
    }
  }

  renderTicks() {
    if (!this.threadId) return;
    const reads = this.app.readsOf(this.threadId);
    for (const el of this.list.querySelectorAll('.msg.mine[data-seq]')) {
      const seq = Number(/** @type {HTMLElement} */ (el).dataset.seq);
      const tick = el.querySelector('.tick');
      if (!tick) continue;
      const read = reads.readByOthers(seq, this.app.me.id);
      tick.textContent = read ? '✓✓' : '✓';
      tick.setAttribute('aria-label', read ? 'Read' : 'Sent');
      tick.setAttribute('title', read ? 'Read' : 'Sent');
      /** @type {HTMLElement} */ (tick).dataset.read = String(read);
    }
  }

  /** @param {IntersectionObserverEntry[]} entries */
  onVisibility(entries) {
    for (const e of entries) {
      const seq = Number(/** @type {HTMLElement} */ (e.target).dataset.seq);
      if (!seq) continue;
      if (e.isIntersecting) this.visible.add(seq);
      else this.visible.delete(seq);
    }
    if (this.readTimer) clearTimeout(this.readTimer);
    this.readTimer = setTimeout(() => this.flushRead(), READ_DEBOUNCE_MS);
  }

  flushRead() {
    // A message in a background tab is not "seen".
    if (!this.threadId || document.visibilityState !== 'visible' || this.visible.size === 0) return;
    this.app.markVisible(this.threadId, this.visible);
  }

  /** @param {import('./store.js').Message} m */
  messageEl(m) {
    const mine = m.senderId === this.app.me.id;
    const classes = ['msg', mine ? 'mine' : 'theirs'];
    if (m.pending) classes.push('is-pending');
    if (m.failed) classes.push('is-failed');
    if (m.deleted) classes.push('is-deleted');
    // tabindex=-1: a tap on one's own message focuses it, which reveals
    // its Edit/Delete on touch screens (see styles.css).
    const li = h('li', {
      class: classes.join(' '),
      'data-seq': m.seq ? String(m.seq) : undefined,
      'data-client-id': m.clientId,
      tabindex: mine ? '-1' : undefined,
    });
    const bubble = h('div', { class: 'bubble' });
    if (!mine) bubble.append(h('span', { class: 'sender', text: this.app.nameOf(m.senderId) }));
    if (m.deleted) {
      bubble.append(h('p', { class: 'content', text: 'Message deleted' }));
    } else if (this.editing === m.seq) {
      bubble.append(this.editForm(m));
    } else {
      if (m.content) bubble.append(h('p', { class: 'content', text: m.content }));
      for (const a of m.attachments || []) bubble.append(this.attachmentEl(a));
    }
    const meta = h('span', { class: 'meta' },
      h('time', { datetime: m.createdAt, text: timeOf(m.createdAt) }),
      m.editedAt && !m.deleted ? h('span', { class: 'edited', text: 'edited' }) : null,
      mine && m.pending && !m.failed ? h('span', { class: 'sending', text: 'Sending…' }) : null,
      mine && m.seq && !m.deleted ? h('span', { class: 'tick', 'data-read': 'false', role: 'img', 'aria-label': 'Sent', text: '✓' }) : null);
    bubble.append(meta);
    li.append(bubble);
    if (m.failed) {
      li.append(h('div', { class: 'actions' },
        h('span', { class: 'error', text: 'Not sent.' }),
        h('button', { type: 'button', class: 'link', text: 'Retry', onclick: () => this.retry(/** @type {string} */ (m.clientId)) })));
    } else if (mine && m.seq && m.id && !m.deleted && this.editing !== m.seq) {
      li.append(this.ownActions(m));
    }
    return li;
  }

  /** @param {import('./store.js').Message} m */
  ownActions(m) {
    if (this.confirming === m.seq) {
      return h('div', { class: 'actions', role: 'group', 'aria-label': 'Confirm delete' },
        h('span', { text: 'Delete this message?' }),
        h('button', { type: 'button', class: 'link danger', text: 'Delete', onclick: () => this.doDelete(m) }),
        h('button', { type: 'button', class: 'link', text: 'Cancel', onclick: () => { this.confirming = null; this.render({}); } }));
    }
    return h('div', { class: 'actions' },
      m.content ? h('button', { type: 'button', class: 'link', text: 'Edit', 'aria-label': 'Edit message', onclick: () => { this.editing = /** @type {number} */ (m.seq); this.render({}); } }) : null,
      h('button', { type: 'button', class: 'link', text: 'Delete', 'aria-label': 'Delete message', onclick: () => { this.confirming = /** @type {number} */ (m.seq); this.render({}); } }));
  }

  /** @param {import('./store.js').Message} m */
  editForm(m) {
    const ta = h('textarea', { class: 'edit-input', 'aria-label': 'Edit message', rows: 2 });
    /** @type {HTMLTextAreaElement} */ (ta).value = m.content;
    const cancel = () => { this.editing = null; this.render({}); };
    const form = h('form', {
      class: 'edit-form',
      onsubmit: async (/** @type {Event} */ e) => {
        e.preventDefault();
        const content = /** @type {HTMLTextAreaElement} */ (ta).value.trim();
        if (!content || content === m.content) return cancel();
        try {
          await this.app.edit(m, content);
          this.editing = null;
          this.render({});
        } catch (err) {
          this.error(`Could not edit: ${/** @type {Error} */ (err).message}`);
        }
      },
    }, ta, h('div', { class: 'edit-buttons' },
      h('button', { type: 'submit', class: 'small', text: 'Save' }),
      h('button', { type: 'button', class: 'small secondary', text: 'Cancel', onclick: cancel })));
    ta.addEventListener('keydown', (e) => { if (e.key === 'Escape') cancel(); });
    requestAnimationFrame(() => ta.focus());
    return form;
  }

  /** @param {import('./store.js').Message} m */
  async doDelete(m) {
    this.confirming = null;
    try {
      await this.app.remove(m);
    } catch (err) {
      this.error(`Could not delete: ${/** @type {Error} */ (err).message}`);
    }
    this.render({});
  }

  /** @param {any} a an attachment object, or a bare id */
  attachmentEl(a) {
    const att = typeof a === 'string' ? { id: a, name: 'attachment', contentType: '', size: NaN } : a;
    const isImage = typeof att.contentType === 'string' && att.contentType.startsWith('image/');
    const box = h('div', { class: 'attachment', 'data-attachment-id': att.id });
    if (isImage) {
      const img = /** @type {HTMLImageElement} */ (h('img', { class: 'thumb', alt: att.name || 'image', width: 160, height: 120 }));
      this.objectURL(att.id, 160).then((url) => { img.src = url; }).catch(() => img.classList.add('is-broken'));
      box.append(img);
    }
    box.append(h('button', {
      type: 'button',
      class: 'download link',
      'aria-label': `Download ${att.name || 'attachment'}`,
      onclick: () => this.download(att),
    }, `Download ${att.name || 'attachment'}`, h('span', { class: 'size', text: Number.isFinite(att.size) ? ` (${sizeText(att.size)})` : '' })));
    return box;
  }

  /** @param {string} id @param {number} [thumb] */
  objectURL(id, thumb) {
    const key = `${id}:${thumb || 0}`;
    let p = this.blobURLs.get(key);
    if (!p) {
      p = this.app.api.attachmentURL(id, thumb);
      p.catch(() => this.blobURLs.delete(key));
      this.blobURLs.set(key, p);
    }
    return p;
  }

  /** @param {any} att */
  async download(att) {
    try {
      const url = await this.objectURL(att.id);
      const a = h('a', { href: url, download: att.name || 'attachment', class: 'visually-hidden' });
      document.body.append(a);
      a.click();
      a.remove();
    } catch (e) {
      this.error(`Could not download: ${/** @type {Error} */ (e).message}`);
    }
  }

  // ---- composer ----

  /** @param {File} file */
  async addFile(file) {
    if (!this.threadId) return;
    const entry = { file, progress: 0, id: undefined, meta: undefined, error: undefined };
    this.pendingFiles.push(entry);
    this.renderUploads();
    try {
      const meta = await this.app.api.upload(file, (f) => { entry.progress = f; this.renderUploads(); });
      entry.meta = meta;
      entry.id = meta.id;
      entry.progress = 1;
    } catch (e) {
      entry.error = `Upload failed: ${/** @type {Error} */ (e).message}`;
    }
    this.renderUploads();
  }

  renderUploads() {
    const rows = this.pendingFiles.map((p, i) => h('li', { class: `upload${p.error ? ' is-failed' : ''}`, 'data-done': String(!!p.id) },
      h('span', { class: 'upload-name', text: p.file.name }),
      p.error
        ? h('span', { class: 'error', text: p.error })
        : h('progress', { max: 1, value: p.progress, 'aria-label': `Uploading ${p.file.name}` }),
      h('button', {
        type: 'button', class: 'link', text: 'Remove', 'aria-label': `Remove ${p.file.name}`,
        onclick: () => { this.pendingFiles.splice(i, 1); this.renderUploads(); },
      })));
    this.uploads.replaceChildren(...rows);
    this.uploads.hidden = rows.length === 0;
    this.updateSendState();
  }

  updateSendState() {
    const uploading = this.pendingFiles.some((p) => !p.id && !p.error);
    const hasFiles = this.pendingFiles.some((p) => p.id);
    this.sendButton.disabled = !this.threadId || uploading || (this.input.value.trim() === '' && !hasFiles);
  }

  async submit() {
    const id = this.threadId;
    if (!id || this.sendButton.disabled) return;
    const content = this.input.value.trim();
    const files = this.pendingFiles.filter((p) => p.id).map((p) => p.meta);
    this.input.value = '';
    this.pendingFiles = [];
    this.renderUploads();
    this.status.textContent = '';
    try {
      await this.app.send(id, content, files);
    } catch (e) {
      this.error(`Message not sent: ${/** @type {Error} */ (e).message}`);
    }
    this.input.focus();
  }

  /** @param {string} clientId */
  async retry(clientId) {
    if (!this.threadId) return;
    try {
      await this.app.retry(this.threadId, clientId);
    } catch (e) {
      this.error(`Message not sent: ${/** @type {Error} */ (e).message}`);
    }
  }
}
