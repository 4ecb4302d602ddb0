// The inbox: one button per thread with the other side's name, online dot,
// last message and unread badge.
import { h, $, timeOf, initials } from './view.js';

export class InboxView {
  /** @param {import('./app.js').App} app */
  constructor(app) {
    this.app = app;
    this.list = $('thread-list');
    this.scheduled = false;
    /** @type {Map<string, {li:HTMLElement, button:HTMLElement, sig:string}>} */
    this.items = new Map();
    this.empty = h('li', { class: 'empty', text: 'No conversations yet.' });
  }

  /** Renders on the next frame, so a burst of events costs one render. */
  render() {
    if (this.scheduled) return;
    this.scheduled = true;
    requestAnimationFrame(() => {
      this.scheduled = false;
      this.renderNow();
    });
  }

  renderNow() {
    const app = this.app;
    const items = app.sortedThreads().map((t) => {
      const others = app.others(t);
      const online = others.some((/** @type {any} */ p) => app.presenceOf(p.id)?.online);
      const last = t.lastMessage;
      let preview = 'No messages yet';
      if (last) {
        const who = last.senderId === app.me.id ? 'You: ' : '';
        const files = last.attachments || [];
        const body = last.deleted ? 'Message deleted'
          : last.content || (files.length === 1 ? `Attachment: ${files[0].name || 'file'}` : files.length ? `${files.length} attachments` : '');
        preview = who + body;
      }
      const unread = t.id === app.current ? 0 : t.unread || 0;
      const title = app.titleOf(t);
      const time = timeOf(last?.createdAt || t.lastActivity);
      const current = t.id === app.current;
      const sig = [title, online, preview, unread, time, current].join('\u0000');
      let r = this.items.get(t.id);
      if (!r) {
        // The button element lives as long as the thread: re-rendering
        // only replaces its content, so a click in progress is not lost.
        const button = h('button', { type: 'button', class: 'thread-item', 'data-thread-id': t.id, onclick: () => app.open(t.id) });
        r = { li: h('li', {}, button), button, sig: '' };
        this.items.set(t.id, r);
      }
      if (r.sig !== sig) {
        r.sig = sig;
        const b = r.button;
        b.className = `thread-item${current ? ' is-current' : ''}${unread ? ' has-unread' : ''}`;
        if (current) b.setAttribute('aria-current', 'true');
        else b.removeAttribute('aria-current');
        b.setAttribute('aria-label', `${title}${online ? ', online' : ''}${unread ? `, ${unread} unread` : ''}`);
        b.replaceChildren(
          h('span', { class: 'avatar', 'aria-hidden': 'true' }, initials(title),
            h('span', { class: `dot${online ? ' is-online' : ''}`, 'data-online': String(online) })),
          h('span', { class: 'thread-main' },
            h('span', { class: 'thread-top' },
              h('span', { class: 'thread-title', text: title }),
              h('span', { class: 'thread-time', text: time })),
            h('span', { class: 'thread-bottom' },
              h('span', { class: 'thread-preview', text: preview }),
              unread ? h('span', { class: 'badge', 'data-unread': String(unread), text: String(unread) }) : null)));
      }
      return r.li;
    });
    if (items.length === 0) items.push(this.empty);
    // Move nodes only when the order changed, so focus stays put.
    const current = [...this.list.children];
    if (current.length !== items.length || current.some((el, i) => el !== items[i])) this.list.replaceChildren(...items);
  }
}
