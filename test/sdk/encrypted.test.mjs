// End-to-end encrypted channels: the pusher Node SDK encrypts with the
// master key, Parley relays the ciphertext, pusher-js (Node build, which
// bundles tweetnacl) decrypts with the shared secret from the authorizer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { client, server, track, connected, subscribe, next, nextMatching, httpStatus, uid } from './lib/harness.mjs';

const masterKey = randomBytes(32).toString('base64');
const api = () => server({ encryptionMasterKeyBase64: masterKey });

test('encrypted channel: SDK-encrypted event is decrypted by pusher-js', async (t) => {
  const name = uid('private-encrypted-');
  const p = track(t, client({ name: 'A', signer: api() }));
  await connected(p);
  const ch = await subscribe(p, name);
  const secret = { diagnosis: 'confidential', n: 42, text: 'ünïcödé <&>' };
  // What crossed the wire: the raw frame before pusher-js decrypts it.
  const wire = nextMatching(p.connection, 'message', (m) => m.event === 'note' && m.channel === name, p, 'raw frame on the encrypted channel');
  const got = next(ch, 'note', p);
  const res = await api().trigger(name, 'note', secret);
  assert.equal(res.status, 200);
  // Decryption authenticates the ciphertext (secretbox MAC): any byte the
  // server changed would make pusher-js fail here.
  assert.deepEqual(await got, secret);
  const frame = await wire;
  assert.deepEqual(Object.keys(frame.data).sort(), ['ciphertext', 'nonce']);
  assert.ok(!JSON.stringify(frame).includes('confidential'), 'plaintext visible on the wire');
});

test('encrypted channel: triggerBatch encrypts per event and pusher-js decrypts', async (t) => {
  const name = uid('private-encrypted-');
  const p = track(t, client({ name: 'A', signer: api() }));
  await connected(p);
  const ch = await subscribe(p, name);
  const got = next(ch, 'b', p);
  await api().triggerBatch([{ channel: name, name: 'b', data: { in: 'batch' } }]);
  assert.deepEqual(await got, { in: 'batch' });
});

test('encrypted cache channel: the cached ciphertext is replayed and decrypts', async (t) => {
  const name = uid('private-encrypted-cache-');
  await api().trigger(name, 'last', { v: 'cached' });
  const p = track(t, client({ name: 'late', signer: api() }));
  await connected(p);
  const ch = p.subscribe(name);
  assert.deepEqual(await next(ch, 'last', p), { v: 'cached' });
});

test('a trigger to several encrypted channels is refused by the SDK', () => {
  assert.throws(
    () => api().trigger([uid('private-encrypted-'), uid('private-encrypted-')], 'x', {}),
    /multiple channels/,
  );
});

test('a signed request to several channels including an encrypted one is refused by the server with 400', async () => {
  const data = JSON.stringify({ nonce: randomBytes(24).toString('base64'), ciphertext: randomBytes(40).toString('base64') });
  // pusher.post signs an arbitrary body, bypassing the SDK's own check.
  const two = await httpStatus(api().post({ path: '/events', body: { name: 'x', data, channels: [uid('private-encrypted-'), uid('private-encrypted-')] } }));
  assert.equal(two.status, 400, `two encrypted channels: ${two.status} ${two.body}`);
  const mixed = await httpStatus(api().post({ path: '/events', body: { name: 'x', data, channels: [uid('public-'), uid('private-encrypted-')] } }));
  assert.equal(mixed.status, 400, `public + encrypted: ${mixed.status} ${mixed.body}`);
  const one = await httpStatus(api().post({ path: '/events', body: { name: 'x', data, channels: [uid('private-encrypted-')] } }));
  assert.equal(one.status, 200, `one encrypted channel: ${one.status} ${one.body}`);
});
