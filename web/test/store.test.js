import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Timeline, ReadMarkers, unreadIn, sortThreads, readTarget, newClientId, isNewer } from '../src/store.js';

const msg = (seq, extra = {}) => ({ threadId: 't1', seq, senderId: 'u1', content: `m${seq}`, createdAt: '2026-01-01T00:00:00Z', ...extra });

test('merge keeps one copy per seq and orders by seq whatever the arrival order', () => {
  const tl = new Timeline();
  assert.deepEqual(tl.merge([msg(3), msg(1)]), { added: 2, updated: 0 });
  assert.deepEqual(tl.merge([msg(2), msg(3), msg(1)]), { added: 1, updated: 0 });
  assert.deepEqual(tl.list().map((m) => m.seq), [1, 2, 3]);
  assert.equal(tl.maxSeq, 3);
  assert.equal(tl.minSeq, 1);
});

test('merge ignores messages without a valid seq', () => {
  const tl = new Timeline();
  assert.deepEqual(tl.merge([msg(0), msg(-1), { ...msg(1), seq: '1' }, null]), { added: 0, updated: 0 });
  assert.equal(tl.list().length, 0);
});

test('an edit replaces the older version, a stale copy does not undo it', () => {
  const tl = new Timeline();
  tl.merge([msg(1)]);
  const edited = msg(1, { content: 'fixed', editedAt: '2026-01-01T00:01:00Z' });
  assert.deepEqual(tl.merge([edited]), { added: 0, updated: 1 });
  assert.deepEqual(tl.merge([msg(1)]), { added: 0, updated: 0 });
  assert.equal(tl.get(1).content, 'fixed');
});

test('a deletion wins over every later copy', () => {
  const tl = new Timeline();
  tl.merge([msg(1, { attachments: [{ id: 'a' }] })]);
  tl.merge([{ threadId: 't1', seq: 1, senderId: 'u1', content: '', deleted: true }]);
  assert.equal(tl.get(1).deleted, true);
  assert.equal(tl.get(1).content, '');
  assert.equal(tl.get(1).createdAt, '2026-01-01T00:00:00Z', 'fields absent from the delete event are kept');
  tl.merge([msg(1, { editedAt: '2027-01-01T00:00:00Z' })]);
  assert.equal(tl.get(1).deleted, true);
});

test('a pending send is replaced by the stored message with the same clientId', () => {
  const tl = new Timeline();
  tl.merge([msg(1)]);
  tl.addPending({ threadId: 't1', clientId: 'c-1', senderId: 'me', content: 'hello' });
  assert.deepEqual(tl.list().map((m) => m.seq ?? m.clientId), [1, 'c-1']);
  assert.equal(tl.list()[1].pending, true);
  tl.merge([msg(2, { clientId: 'c-1', senderId: 'me', content: 'hello' })]);
  assert.deepEqual(tl.list().map((m) => m.seq ?? m.clientId), [1, 2]);
  assert.equal(tl.pending.size, 0);
  assert.equal(tl.get(2).pending, false);
});

test('a failed send stays visible, marked failed', () => {
  const tl = new Timeline();
  tl.addPending({ threadId: 't1', clientId: 'c-1', senderId: 'me', content: 'x' });
  tl.failPending('c-1');
  assert.equal(tl.list()[0].failed, true);
});

test('gapBefore finds the missing range only after the latest page is held', () => {
  const tl = new Timeline();
  assert.equal(tl.gapBefore(9), null, 'empty timeline: nothing to compare');
  tl.merge([msg(1), msg(2)]);
  assert.equal(tl.gapBefore(3), null);
  assert.equal(tl.gapBefore(2), null);
  assert.deepEqual(tl.gapBefore(6), { after: 2, before: 6 });
});

test('read markers only move forward', () => {
  const r = new ReadMarkers();
  assert.equal(r.advance('u2', 5), true);
  assert.equal(r.advance('u2', 3), false);
  assert.equal(r.advance('u2', 5), false);
  assert.equal(r.of('u2'), 5);
  assert.equal(r.advance('', 9), false);
});

test('readByOthers ignores the sender own marker', () => {
  const r = new ReadMarkers();
  r.advance('me', 10);
  assert.equal(r.readByOthers(4, 'me'), false);
  r.advance('u2', 4);
  assert.equal(r.readByOthers(4, 'me'), true);
  assert.equal(r.readByOthers(5, 'me'), false);
});

test('unreadIn counts only others messages after the marker', () => {
  const tl = new Timeline();
  tl.merge([msg(1, { senderId: 'u2' }), msg(2, { senderId: 'me' }), msg(3, { senderId: 'u2' }), msg(4, { senderId: 'u2', deleted: true })]);
  assert.equal(unreadIn(tl, 'me', 0), 2);
  assert.equal(unreadIn(tl, 'me', 1), 1);
  assert.equal(unreadIn(tl, 'me', 3), 0);
});

test('sortThreads: newest activity first, stable by id', () => {
  const out = sortThreads([
    { id: 'b', lastActivity: '2026-01-01T00:00:00Z' },
    { id: 'c', lastActivity: '2026-01-02T00:00:00Z' },
    { id: 'a', lastActivity: '2026-01-01T00:00:00Z' },
    { id: 'd' },
  ]);
  assert.deepEqual(out.map((t) => t.id), ['c', 'a', 'b', 'd']);
});

test('readTarget is the highest visible seq, only when it moves the marker', () => {
  assert.equal(readTarget([3, 7, 5], 4), 7);
  assert.equal(readTarget([3, 4], 4), 0);
  assert.equal(readTarget([], 0), 0);
});

test('isNewer: same version with more fields replaces a summary', () => {
  assert.equal(isNewer(msg(1, { attachments: [] }), { threadId: 't1', seq: 1, senderId: 'u', content: 'x' }), true);
  assert.equal(isNewer(msg(1), msg(1)), false);
});

test('newClientId is unique', () => {
  const ids = new Set(Array.from({ length: 1000 }, () => newClientId()));
  assert.equal(ids.size, 1000);
});

test('newClientId is a UUIDv7 that sorts by time', () => {
  const t = Date.UTC(2026, 11, 2, 14, 30);
  const id = newClientId(t);
  assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.equal(parseInt(id.slice(0, 8) + id.slice(9, 13), 16), t);
  const later = Array.from({ length: 50 }, (_, i) => newClientId(t + i + 1));
  assert.deepEqual([...later].sort(), later);
  assert.ok(id < later[0]);
});
