import { test } from 'node:test';
import assert from 'node:assert/strict';
import { normalizeMessage, normalizeChange, listOf, nextCursorOf } from '../src/sync.js';

const wire = { id: 'm1', threadId: 't1', seq: 4, senderId: 'u1', content: 'hi', createdAt: '2026-01-01T00:00:00Z', clientId: 'c1' };

test('normalizeMessage keeps the wire fields', () => {
  const m = normalizeMessage(wire);
  assert.equal(m.seq, 4);
  assert.equal(m.threadId, 't1');
  assert.equal(m.clientId, 'c1');
  assert.equal(m.deleted, false);
});

test('normalizeMessage rejects what cannot be placed', () => {
  assert.equal(normalizeMessage(null), null);
  assert.equal(normalizeMessage({ ...wire, seq: 'x' }), null);
  assert.equal(normalizeMessage({ ...wire, seq: 0 }), null);
  assert.equal(normalizeMessage({ ...wire, threadId: '' }), null);
});

test('a deleted message loses its content', () => {
  const m = normalizeMessage({ ...wire, deletedAt: '2026-01-01T00:00:01Z' });
  assert.equal(m.deleted, true);
  assert.equal(m.content, '');
});

test('normalizeChange understands message, delete, read and thread changes', () => {
  assert.equal(normalizeChange({ type: 'message', message: wire }).message.seq, 4);
  assert.equal(normalizeChange({ type: 'message.updated', message: { ...wire, content: 'x' } }).message.content, 'x');
  const del = normalizeChange({ type: 'message-deleted', message: wire });
  assert.equal(del.message.deleted, true);
  assert.equal(del.message.content, '');
  assert.deepEqual(normalizeChange({ type: 'read', threadId: 't1', userId: 'u2', seq: 3, readAt: 'x' }),
    { kind: 'read', threadId: 't1', userId: 'u2', seq: 3, readAt: 'x' });
  assert.equal(normalizeChange({ type: 'thread', thread: { id: 't9' } }).thread.id, 't9');
});

test('normalizeChange ignores unknown or broken changes instead of failing', () => {
  assert.equal(normalizeChange({ type: 'something-new' }), null);
  assert.equal(normalizeChange({ type: 'read', threadId: 't1' }), null);
  assert.equal(normalizeChange('x'), null);
  assert.equal(normalizeChange({ type: 'message', message: { seq: 1 } }), null);
});

test('listOf and nextCursorOf accept bare and wrapped lists', () => {
  assert.deepEqual(listOf([1, 2], 'threads'), [1, 2]);
  assert.deepEqual(listOf({ threads: [1] }, 'threads'), [1]);
  assert.deepEqual(listOf({ items: [2] }, 'threads'), [2]);
  assert.deepEqual(listOf(null, 'threads'), []);
  assert.equal(nextCursorOf({ nextCursor: 'abc' }), 'abc');
  assert.equal(nextCursorOf([1]), null);
});
