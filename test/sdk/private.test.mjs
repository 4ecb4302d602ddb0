// Private channels: signatures made by the pusher Node SDK are accepted,
// forged ones refused with pusher:subscription_error on an open socket.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import PusherServer from 'pusher';
import { env, client, server, track, connected, subscribe, subscriptionError, next, uid } from './lib/harness.mjs';

test('private channel: an SDK-made signature is accepted and events arrive', async (t) => {
  const p = track(t, client({ name: 'A' }));
  await connected(p);
  const name = uid('private-');
  const ch = await subscribe(p, name);
  const got = next(ch, 'secret-event', p);
  await server().trigger(name, 'secret-event', { ok: true });
  assert.deepEqual(await got, { ok: true });
});

test('private channel: a forged signature is refused and the socket stays open', async (t) => {
  const p = track(t, client({ name: 'forger', forge: true }));
  await connected(p);
  const name = uid('private-');
  const err = await subscriptionError(p, name);
  // pusher-js passes the frame's data through; Pusher documents {type, error, status}.
  assert.equal(typeof err, 'object', `subscription_error data: ${JSON.stringify(err)}`);
  assert.equal(p.connection.state, 'connected', 'a refused subscription must not close the socket');

  // The same socket still works: a public channel subscribes and receives.
  const pub = uid('public-');
  const ch = await subscribe(p, pub);
  const got = next(ch, 'after', p);
  await server().trigger(pub, 'after', { still: 'open' });
  assert.deepEqual(await got, { still: 'open' });
});

test('private channel: a signature for another socket_id is refused', async (t) => {
  const signer = server();
  const other = {
    authorizeChannel: (_socketId, channel, data) => signer.authorizeChannel('1234.5678', channel, data),
  };
  const p = track(t, client({ name: 'wrong-socket', signer: other }));
  await connected(p);
  await subscriptionError(p, uid('private-'));
  assert.equal(p.connection.state, 'connected');
});

test('private channel: a signature made with another app key is refused', async (t) => {
  const foreign = new PusherServer({ appId: '999', key: 'other-key', secret: env.secret, host: env.host, port: String(env.port), useTLS: false });
  const p = track(t, client({ name: 'foreign-key', signer: foreign }));
  await connected(p);
  await subscriptionError(p, uid('private-'));
  assert.equal(p.connection.state, 'connected');
});
