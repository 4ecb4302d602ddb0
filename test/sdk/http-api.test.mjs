// The HTTP API through the pusher Node SDK: batch trigger, socket_id
// exclusion, channel queries and their error answers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { client, server, track, connected, subscribe, next, record, json, httpStatus, uid, describeFrames } from './lib/harness.mjs';

test('triggerBatch delivers every event to its channel', async (t) => {
  const api = server();
  const c1 = uid('batch-a-');
  const c2 = uid('batch-b-');
  const p = track(t, client({ name: 'A' }));
  await connected(p);
  const ch1 = await subscribe(p, c1);
  const ch2 = await subscribe(p, c2);
  const got1 = next(ch1, 'one', p);
  const got2 = next(ch2, 'two', p);
  const res = await api.triggerBatch([
    { channel: c1, name: 'one', data: { n: 1 } },
    { channel: c2, name: 'two', data: 'plain' },
  ]);
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), {});
  assert.deepEqual(await got1, { n: 1 });
  assert.equal(await got2, 'plain');
});

test('triggerBatch with info returns per-event counts', async (t) => {
  const api = server();
  const c1 = uid('batch-i-');
  const p = track(t, client({ name: 'A' }));
  await connected(p);
  await subscribe(p, c1);
  const body = await json(api.triggerBatch([{ channel: c1, name: 'x', data: {}, info: 'subscription_count' }]));
  assert.deepEqual(body, { batch: [{ subscription_count: 1 }] });
});

test('trigger to several channels at once', async (t) => {
  const names = [uid('multi-'), uid('multi-'), uid('multi-')];
  const p = track(t, client({ name: 'A' }));
  await connected(p);
  const chans = [];
  for (const n of names) chans.push(await subscribe(p, n));
  const got = chans.map((ch) => next(ch, 'fan', p));
  await server().trigger(names, 'fan', { all: true });
  for (const g of got) assert.deepEqual(await g, { all: true });
});

test('socket_id exclusion: the excluded connection does not receive the event', async (t) => {
  const name = uid('excl-');
  const [a, b] = track(t, client({ name: 'A' }), client({ name: 'B' }));
  const [sa] = await Promise.all([connected(a), connected(b)]);
  const chA = await subscribe(a, name);
  const chB = await subscribe(b, name);
  const onA = record(chA, 'only-others');
  const gotB = next(chB, 'only-others', b);
  const api = server();
  await api.trigger(name, 'only-others', { x: 1 }, { socket_id: sa });
  assert.deepEqual(await gotB, { x: 1 });
  // Marker to everyone, sent after the excluded event.
  const marker = next(chA, 'marker', a);
  await api.trigger(name, 'marker', {});
  await marker;
  assert.deepEqual(onA, [], `the excluded socket received the event\n${describeFrames(a)}`);
});

test('socket_id exclusion works in triggerBatch too', async (t) => {
  const name = uid('excl-b-');
  const [a, b] = track(t, client({ name: 'A' }), client({ name: 'B' }));
  const [sa] = await Promise.all([connected(a), connected(b)]);
  const chA = await subscribe(a, name);
  const chB = await subscribe(b, name);
  const onA = record(chA, 'e');
  const gotB = next(chB, 'e', b);
  const markerA = next(chA, 'marker', a);
  await server().triggerBatch([
    { channel: name, name: 'e', data: {}, socket_id: sa },
    { channel: name, name: 'marker', data: {} },
  ]);
  await gotB;
  await markerA;
  assert.deepEqual(onA, []);
});

test('channel queries: GET /channels, /channels/{c} with info', async (t) => {
  const api = server();
  const prefix = uid('q');
  const names = [`${prefix}-one`, `${prefix}-two`];
  const [a, b] = track(t, client({ name: 'A' }), client({ name: 'B' }));
  await Promise.all([connected(a), connected(b)]);
  await subscribe(a, names[0]);
  await subscribe(b, names[0]);
  await subscribe(a, names[1]);

  const list = await json(api.get({ path: '/channels', params: { filter_by_prefix: prefix } }));
  assert.deepEqual(list, { channels: { [names[0]]: {}, [names[1]]: {} } });

  const none = await json(api.get({ path: '/channels', params: { filter_by_prefix: uid('nothing-') } }));
  assert.deepEqual(none, { channels: {} }, 'an empty list is {} and never null');

  const all = await json(api.get({ path: '/channels' }));
  assert.ok(all.channels[names[0]], 'unfiltered list contains the channel');

  const one = await json(api.get({ path: `/channels/${names[0]}`, params: { info: 'subscription_count' } }));
  assert.deepEqual(one, { occupied: true, subscription_count: 2 });

  const plain = await json(api.get({ path: `/channels/${names[1]}` }));
  assert.equal(plain.occupied, true);

  const empty = await json(api.get({ path: `/channels/${uid('vacant-')}` }));
  assert.equal(empty.occupied, false);
});

test('channel names with ; and other legal characters work through the SDK', async (t) => {
  const name = `${uid('odd-')}_-=@,.;x`;
  const p = track(t, client({ name: 'A' }));
  await connected(p);
  const ch = await subscribe(p, name);
  const got = next(ch, 'odd', p);
  await server().trigger(name, 'odd', {});
  await got;
  const list = await json(server().get({ path: '/channels', params: { filter_by_prefix: name } }));
  assert.deepEqual(list, { channels: { [name]: {} } });
});

test('HTTP API errors: users of a non-presence channel → 400, user_count without presence prefix → 400', async () => {
  const api = server();
  const users = await httpStatus(api.get({ path: `/channels/${uid('public-')}/users` }));
  assert.equal(users.status, 400, `body: ${users.body}`);
  const count = await httpStatus(api.get({ path: '/channels', params: { info: 'user_count' } }));
  assert.equal(count.status, 400, `body: ${count.body}`);
});

test('HTTP API errors: a wrong secret → 401', async () => {
  const { default: PusherServer } = await import('pusher');
  const { env } = await import('./lib/harness.mjs');
  const bad = new PusherServer({ appId: env.appId, key: env.key, secret: 'wrong', host: env.host, port: String(env.port), useTLS: false });
  const r = await httpStatus(bad.trigger(uid('public-'), 'x', {}));
  assert.equal(r.status, 401, `body: ${r.body}`);
});
