import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bannerFor, shouldPoll, retryDelay } from '../src/connection.js';

test('no banner while connected', () => {
  assert.equal(bannerFor({ state: 'connected', everConnected: true, polling: false }).visible, false);
});

test('first connect says connecting, a lost link says reconnecting', () => {
  assert.match(bannerFor({ state: 'connecting', everConnected: false, polling: false }).text, /^Connecting/);
  const lost = bannerFor({ state: 'connecting', everConnected: true, polling: false });
  assert.equal(lost.visible, true);
  assert.equal(lost.tone, 'error');
  assert.match(lost.text, /Connection lost/);
});

test('polling says so, whatever the socket state', () => {
  for (const state of ['unavailable', 'failed', 'connecting']) {
    const b = bannerFor({ state, everConnected: true, polling: true });
    assert.match(b.text, /polling/);
    assert.equal(b.tone, 'warn');
  }
});

test('catching up after a reconnect is shown', () => {
  assert.match(bannerFor({ state: 'connected', everConnected: true, polling: false, catchingUp: true }).text, /catching up/);
});

test('shouldPoll only when the socket is unavailable or failed', () => {
  assert.deepEqual(['initialized', 'connecting', 'connected', 'unavailable', 'failed', 'disconnected'].filter(shouldPoll), ['unavailable', 'failed']);
});

test('retryDelay backs off to 30 s', () => {
  assert.deepEqual([0, 1, 2, 3, 4, 5, 6, 50].map(retryDelay), [1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]);
});
