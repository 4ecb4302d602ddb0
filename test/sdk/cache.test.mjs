// Cache channels: the last API event is replayed to a new subscriber,
// pusher:cache_miss is sent when there is none, GET channel info=cache.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { client, server, track, connected, next, record, json, uid, within, describeFrames } from './lib/harness.mjs';

// subscribeAndFirst subscribes and resolves with the first event after
// subscription_succeeded, which for a cache channel is either the cached
// event or pusher:cache_miss.
function subscribeAndFirst(p, name) {
  return within(new Promise((resolve, reject) => {
    const ch = p.subscribe(name);
    let subscribed = false;
    ch.bind_global((event, data) => {
      if (event === 'pusher:subscription_succeeded') { subscribed = true; return; }
      if (event === 'pusher:subscription_error') { reject(new Error(`subscription to ${name} refused: ${JSON.stringify(data)}`)); return; }
      if (event === 'pusher:subscription_count') return;
      if (!subscribed) { reject(new Error(`event ${event} before subscription_succeeded`)); return; }
      resolve({ ch, event, data });
    });
  }), `first event after subscribing to ${name}`, [p]);
}

test('cache channel: pusher:cache_miss when nothing was published', async (t) => {
  const p = track(t, client({ name: 'A' }));
  await connected(p);
  const name = uid('cache-');
  const first = await subscribeAndFirst(p, name);
  assert.equal(first.event, 'pusher:cache_miss', `first event: ${first.event}\n${describeFrames(p)}`);
});

test('cache channel: the last event is replayed to a new subscriber', async (t) => {
  const api = server();
  const name = uid('cache-');
  await api.trigger(name, 'price', { v: 1 });
  await api.trigger(name, 'price', { v: 2 });

  const p = track(t, client({ name: 'late' }));
  await connected(p);
  const first = await subscribeAndFirst(p, name);
  assert.equal(first.event, 'price');
  assert.deepEqual(first.data, { v: 2 });

  const info = await json(api.get({ path: `/channels/${name}`, params: { info: 'cache' } }));
  assert.equal(info.occupied, true);
  assert.ok(info.cache, `no cache in ${JSON.stringify(info)}`);
  assert.equal(info.cache.data, JSON.stringify({ v: 2 }));
  assert.equal(typeof info.cache.ttl, 'number');
  assert.ok(info.cache.ttl > 0 && info.cache.ttl <= 30 * 60, `ttl ${info.cache.ttl}`);
});

test('cache channel: live events still reach current subscribers', async (t) => {
  const api = server();
  const name = uid('cache-');
  const p = track(t, client({ name: 'A' }));
  await connected(p);
  const { ch } = await subscribeAndFirst(p, name);
  const got = next(ch, 'tick', p);
  await api.trigger(name, 'tick', { n: 7 });
  assert.deepEqual(await got, { n: 7 });
});

test('private cache channel: replay works after authorization', async (t) => {
  const api = server();
  const name = uid('private-cache-');
  await api.trigger(name, 'state', { s: 'ready' });
  const p = track(t, client({ name: 'A' }));
  await connected(p);
  const first = await subscribeAndFirst(p, name);
  assert.equal(first.event, 'state');
  assert.deepEqual(first.data, { s: 'ready' });
});

test('cache channel: GET info=cache on a channel without cache', async (t) => {
  const name = uid('cache-');
  const p = track(t, client({ name: 'A' }));
  await connected(p);
  await subscribeAndFirst(p, name); // cache miss
  const info = await json(server().get({ path: `/channels/${name}`, params: { info: 'cache' } }));
  assert.equal(info.occupied, true);
  assert.ok(info.cache === null || info.cache === undefined, `cache: ${JSON.stringify(info.cache)}`);
});
