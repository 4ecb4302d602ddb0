import { test } from 'node:test';
import assert from 'node:assert/strict';
import { presenceText, sizeText, initials } from '../src/view.js';

test('presenceText', () => {
  const now = Date.parse('2026-01-01T12:00:00Z');
  assert.equal(presenceText({ online: true }, now), 'online');
  assert.equal(presenceText({ online: false, lastSeen: null }, now), 'offline');
  assert.equal(presenceText({ online: false, lastSeen: '2026-01-01T11:59:50Z' }, now), 'last seen just now');
  assert.equal(presenceText({ online: false, lastSeen: '2026-01-01T11:45:00Z' }, now), 'last seen 15 min ago');
  assert.equal(presenceText({ online: false, lastSeen: '2026-01-01T09:00:00Z' }, now), 'last seen 3 h ago');
  assert.equal(presenceText(undefined, now), '');
});

test('sizeText and initials', () => {
  assert.equal(sizeText(512), '512 B');
  assert.equal(sizeText(2048), '2.0 KB');
  assert.equal(sizeText(3 * 1024 * 1024), '3.0 MB');
  assert.equal(initials('Dr. Maya Chen'), 'DC');
  assert.equal(initials('ana'), 'AN');
});
