// Client events (typing indicators): relayed to the other subscribers, never
// echoed, refused on public channels, rate limited with pusher:error 4301.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { client, server, track, connected, subscribe, next, nextWithMeta, nextError, record, uid, describeFrames } from './lib/harness.mjs';

test('client event on a private channel reaches the other client, not the sender', async (t) => {
  const name = uid('private-');
  const [a, b] = track(t, client({ name: 'A' }), client({ name: 'B' }));
  await Promise.all([connected(a), connected(b)]);
  const chA = await subscribe(a, name);
  const chB = await subscribe(b, name);
  const echoed = record(chA, 'client-typing');

  const got = next(chB, 'client-typing', b);
  assert.equal(chA.trigger('client-typing', { on: true }), true);
  assert.deepEqual(await got, { on: true });

  // Marker: an API event sent after B got the client event. Had the server
  // echoed the client event to A, it would have been queued before this.
  const marker = next(chA, 'marker', a);
  await server().trigger(name, 'marker', {});
  await marker;
  assert.deepEqual(echoed, [], `the sender received its own client event\n${describeFrames(a)}`);
});

test('client event on a presence channel carries the sender user_id', async (t) => {
  const name = uid('presence-');
  const a = client({ name: 'A', member: { user_id: 'alice', user_info: {} } });
  const b = client({ name: 'B', member: { user_id: 'bob', user_info: {} } });
  track(t, a, b);
  await Promise.all([connected(a), connected(b)]);
  const chA = await subscribe(a, name);
  const chB = await subscribe(b, name);
  const got = nextWithMeta(chB, 'client-typing', b);
  chA.trigger('client-typing', { on: true });
  const { data, meta } = await got;
  assert.deepEqual(data, { on: true });
  assert.equal(meta && meta.user_id, 'alice', `metadata: ${JSON.stringify(meta)}`);
});

test('client events are refused on public channels', async (t) => {
  const pub = uid('public-');
  const priv = uid('private-');
  const [a, b] = track(t, client({ name: 'A' }), client({ name: 'B' }));
  await Promise.all([connected(a), connected(b)]);
  const pubA = await subscribe(a, pub);
  const pubB = await subscribe(b, pub);
  const privA = await subscribe(a, priv);
  const privB = await subscribe(b, priv);
  const leaked = record(pubB, 'client-public');

  // pusher-js only checks the client- prefix, so the server must refuse.
  pubA.trigger('client-public', { no: 1 });
  // Marker: a client event on a private channel sent afterwards on the same
  // socket; when B has it, the public one would have arrived before it.
  const marker = next(privB, 'client-marker', b);
  privA.trigger('client-marker', { yes: 1 });
  await marker;
  assert.deepEqual(leaked, [], `a client event on a public channel was relayed\n${describeFrames(a, b)}`);
  assert.equal(a.connection.state, 'connected');
});

test('client events over the rate limit are answered with pusher:error 4301', async (t) => {
  const name = uid('private-');
  const [a, b] = track(t, client({ name: 'A' }), client({ name: 'B' }));
  await Promise.all([connected(a), connected(b)]);
  const chA = await subscribe(a, name);
  const chB = await subscribe(b, name);
  const received = record(chB, 'client-burst');
  const limited = nextError(a, 4301);
  // The default limit is 10 per second; 40 in one burst must trip it.
  for (let i = 0; i < 40; i++) chA.trigger('client-burst', { i });
  await limited;
  // Marker: an API event after the burst; by then every relayed client
  // event is in B's queue ahead of it.
  const marker = next(chB, 'marker', b);
  await server().trigger(name, 'marker', {});
  await marker;
  assert.ok(received.length >= 1, 'the first client events within the limit were relayed');
  assert.ok(received.length < 40, `all 40 client events were relayed despite the limit (got ${received.length})`);
});
