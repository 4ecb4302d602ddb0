import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bannerFor, pollAfter, shouldKick, retryDelay, FIRST_CONNECT_GRACE_MS, KICK_MIN_INTERVAL_MS } from '../src/connection.js';

test('no banner while connected', () => {
  assert.equal(bannerFor({ state: 'connected', everConnected: true, polling: false }).visible, false);
});

test('first connect says connecting, a lost link says reconnecting', () => {
  assert.match(bannerFor({ state: 'connecting', everConnected: false, polling: false }).text, /^Connecting/);
  for (const reachable of [null, false]) {
    const lost = bannerFor({ state: 'connecting', everConnected: true, polling: true, reachable });
    assert.equal(lost.visible, true);
    assert.equal(lost.tone, 'error');
    assert.match(lost.text, /Connection lost/);
  }
});

test('a server that never answered is offline', () => {
  const b = bannerFor({ state: 'unavailable', everConnected: false, polling: true, reachable: false });
  assert.equal(b.tone, 'error');
  assert.match(b.text, /Offline/);
});

test('polling a reachable server says so, whatever the socket state', () => {
  for (const state of ['unavailable', 'failed', 'connecting', 'disconnected']) {
    for (const everConnected of [false, true]) {
      const b = bannerFor({ state, everConnected, polling: true, reachable: true });
      assert.match(b.text, /polling/);
      assert.equal(b.tone, 'warn');
    }
  }
});

test('catching up after a reconnect is shown', () => {
  assert.match(bannerFor({ state: 'connected', everConnected: true, polling: false, catchingUp: true }).text, /catching up/);
});

test('pollAfter: at once when the socket is lost, after a grace period on first connect, never while connected', () => {
  assert.equal(pollAfter('connected', true), null);
  assert.equal(pollAfter('connected', false), null);
  assert.equal(pollAfter('connecting', true), 0);
  assert.equal(pollAfter('disconnected', true), 0);
  assert.equal(pollAfter('connecting', false), FIRST_CONNECT_GRACE_MS);
  assert.equal(pollAfter('initialized', false), FIRST_CONNECT_GRACE_MS);
  assert.equal(pollAfter('unavailable', false), 0);
  assert.equal(pollAfter('failed', false), 0);
});

test('shouldKick: when the server comes back and the socket is down, throttled', () => {
  const base = { state: 'connecting', everConnected: true, wasReachable: false, now: 100000, lastKick: 0 };
  assert.equal(shouldKick(base), true);
  assert.equal(shouldKick({ ...base, wasReachable: null }), true, 'first poll after a drop answered');
  assert.equal(shouldKick({ ...base, wasReachable: true }), false, 'already reachable: no new information');
  assert.equal(shouldKick({ ...base, state: 'connected' }), false);
  assert.equal(shouldKick({ ...base, lastKick: base.now - KICK_MIN_INTERVAL_MS + 1 }), false);
  assert.equal(shouldKick({ ...base, lastKick: base.now - KICK_MIN_INTERVAL_MS }), true);
});

test('shouldKick: a slow first connection is left alone unless the server had been down', () => {
  const first = { state: 'connecting', everConnected: false, wasReachable: null, now: 100000, lastKick: 0 };
  assert.equal(shouldKick(first), false);
  assert.equal(shouldKick({ ...first, wasReachable: false }), true);
});

test('retryDelay backs off to 30 s', () => {
  assert.deepEqual([0, 1, 2, 3, 4, 5, 6, 50].map(retryDelay), [1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]);
});
