// pusher:subscription_count (enabled for the test app).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { client, server, track, connected, next, nextMatching, json, uid } from './lib/harness.mjs';

test('subscription_count reaches subscribers as others join and leave', async (t) => {
  const name = uid('count-');
  const [a, b] = track(t, client({ name: 'A' }), client({ name: 'B' }));
  await Promise.all([connected(a), connected(b)]);
  const chA = a.subscribe(name);
  const one = nextMatching(chA, 'pusher:subscription_count', (d) => d.subscription_count === 1, a, 'subscription_count 1 on A');
  await one;
  const two = nextMatching(chA, 'pusher:subscription_count', (d) => d.subscription_count === 2, a, 'subscription_count 2 on A');
  const chB = b.subscribe(name);
  const twoB = nextMatching(chB, 'pusher:subscription_count', (d) => d.subscription_count === 2, b, 'subscription_count 2 on B');
  await two;
  await twoB;
  assert.equal(chA.subscriptionCount, 2);

  const info = await json(server().get({ path: `/channels/${name}`, params: { info: 'subscription_count' } }));
  assert.deepEqual(info, { occupied: true, subscription_count: 2 });

  const back = nextMatching(chA, 'pusher:subscription_count', (d) => d.subscription_count === 1, a, 'subscription_count 1 on A after B left');
  b.unsubscribe(name);
  await back;
});

test('presence channels get no subscription_count', async (t) => {
  const name = uid('presence-');
  const a = track(t, client({ name: 'A', member: { user_id: 'a', user_info: {} } }));
  await connected(a);
  const counts = [];
  const ch = a.subscribe(name);
  ch.bind('pusher:subscription_count', (d) => counts.push(d));
  await next(ch, 'pusher:subscription_succeeded', a);
  // Marker: an API event after subscription_succeeded.
  const marker = next(ch, 'marker', a);
  await server().trigger(name, 'marker', {});
  await marker;
  assert.deepEqual(counts, []);
});
