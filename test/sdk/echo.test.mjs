// Laravel Echo smoke test: Echo's 'pusher' broadcaster on top of pusher-js,
// as a Laravel front end would use Parley.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import Echo from 'laravel-echo';
import { env, client, server, track, connected, uid, within } from './lib/harness.mjs';

function echoFor(p) {
  return new Echo({ broadcaster: 'pusher', key: env.key, client: p });
}

function subscribed(echoChannel, p, name) {
  return within(new Promise((resolve, reject) => {
    echoChannel.subscribed(resolve);
    echoChannel.error((e) => reject(new Error(`Echo subscription to ${name} failed: ${JSON.stringify(e)}`)));
  }), `Echo subscribed to ${name}`, [p]);
}

test('Echo private channel receives a namespaced Laravel event', async (t) => {
  const p = track(t, client({ name: 'echo' }));
  await connected(p);
  const echo = echoFor(p);
  const name = uid('orders.');
  const ch = echo.private(name);
  const got = within(new Promise((resolve) => ch.listen('OrderShipped', resolve)), 'OrderShipped', [p]);
  await subscribed(ch, p, `private-${name}`);
  // Laravel broadcasts with the class name as the event name.
  await server().trigger(`private-${name}`, 'App\\Events\\OrderShipped', { order: { id: 7 } });
  assert.deepEqual(await got, { order: { id: 7 } });
});

test('Echo whisper reaches the other client and presence join lists members', async (t) => {
  const name = uid('chat.');
  const a = client({ name: 'A', member: { user_id: 'a', user_info: { name: 'A' } } });
  const b = client({ name: 'B', member: { user_id: 'b', user_info: { name: 'B' } } });
  track(t, a, b);
  await Promise.all([connected(a), connected(b)]);
  const ea = echoFor(a);
  const eb = echoFor(b);
  const hereA = within(new Promise((resolve) => ea.join(name).here(resolve)), 'here on A', [a]);
  assert.deepEqual((await hereA).map((m) => m.name), ['A']);
  const joining = within(new Promise((resolve) => ea.join(name).joining(resolve)), 'joining on A', [a]);
  const hereB = within(new Promise((resolve) => eb.join(name).here(resolve)), 'here on B', [b]);
  assert.deepEqual((await hereB).map((m) => m.name).sort(), ['A', 'B']);
  assert.equal((await joining).name, 'B');

  const whisper = within(new Promise((resolve) => eb.join(name).listenForWhisper('typing', resolve)), 'whisper on B', [b]);
  ea.join(name).whisper('typing', { on: true });
  assert.deepEqual(await whisper, { on: true });
});
