// Connecting with pusher-js 8: handshake, public channels, refused apps.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { env, client, server, track, connected, subscribe, next, nextError, errorCode, uid, within, describeFrames } from './lib/harness.mjs';

test('connects: state connected and a socket_id the server SDKs accept', async (t) => {
  const p = track(t, client({ name: 'A' }));
  const socketId = await connected(p);
  assert.equal(p.connection.state, 'connected');
  assert.match(socketId, /^\d+\.\d+$/, 'socket_id must match ^\\d+\\.\\d+$ (both server SDKs validate it)');
  // The Node SDK throws "Invalid socket id" on anything else.
  assert.ok(server().authorizeChannel(socketId, 'private-x').auth.startsWith(`${env.key}:`));
});

test('two connections get distinct socket ids', async (t) => {
  const [a, b] = track(t, client({ name: 'A' }), client({ name: 'B' }));
  const [ia, ib] = await Promise.all([connected(a), connected(b)]);
  assert.notEqual(ia, ib);
});

test('public channel: an event triggered through the pusher Node SDK arrives', async (t) => {
  const p = track(t, client({ name: 'A' }));
  await connected(p);
  const name = uid('public-');
  const ch = await subscribe(p, name);
  const got = next(ch, 'greeting', p);
  const res = await server().trigger(name, 'greeting', { hello: 'world', n: 1 });
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), {}, 'POST /events answers {} like Pusher');
  assert.deepEqual(await got, { hello: 'world', n: 1 });
});

test('public channel: string data is relayed unchanged', async (t) => {
  const p = track(t, client({ name: 'A' }));
  await connected(p);
  const name = uid('public-');
  const ch = await subscribe(p, name);
  const got = next(ch, 'raw', p);
  await server().trigger(name, 'raw', 'plain text, not JSON <&>');
  assert.equal(await got, 'plain text, not JSON <&>');
});

// countingProxy forwards TCP to Parley and counts connections, so a test can
// see whether pusher-js tries to connect again.
async function countingProxy(t) {
  const accepted = [];
  const waiters = [];
  const sockets = new Set();
  const srv = net.createServer((downstream) => {
    accepted.push(Date.now());
    waiters.splice(0).forEach((w) => w());
    const upstream = net.connect(env.port, env.host);
    sockets.add(downstream); sockets.add(upstream);
    downstream.pipe(upstream).pipe(downstream);
    const end = () => { downstream.destroy(); upstream.destroy(); };
    downstream.on('error', end); upstream.on('error', end);
    downstream.on('close', end); upstream.on('close', end);
  });
  await new Promise((resolve) => srv.listen(0, '127.0.0.1', resolve));
  t.after(() => { sockets.forEach((s) => s.destroy()); srv.close(); });
  return {
    port: srv.address().port,
    count: () => accepted.length,
    // nextConnection resolves true if another connection arrives within ms.
    nextConnection: (ms) => new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), ms);
      waiters.push(() => { clearTimeout(timer); resolve(true); });
    }),
  };
}

async function refusedWithoutRetry(t, key, code) {
  const proxy = await countingProxy(t);
  const states = [];
  const p = track(t, client({ name: `key ${key}`, key, pusherOptions: { wsPort: proxy.port } }));
  p.connection.bind('state_change', (s) => states.push(s.current));
  const errors = [];
  p.connection.bind('error', (e) => errors.push(errorCode(e)));
  await nextError(p, code);
  // pusher-js maps 4000–4099 to "refused" and calls disconnect().
  await within(new Promise((resolve) => {
    if (p.connection.state === 'disconnected') return resolve();
    p.connection.bind('state_change', (s) => s.current === 'disconnected' && resolve());
  }), 'state disconnected', [p]);
  assert.equal(proxy.count(), 1, 'exactly one connection so far');
  // pusher-js retries a dropped connection after 1 s (and the strategy
  // after 1–2 s); three seconds without a second attempt shows no loop.
  const again = await proxy.nextConnection(3000);
  assert.equal(again, false, `pusher-js connected again after ${code}: the server's close code did not stop it\n${describeFrames(p)}`);
  assert.equal(p.connection.state, 'disconnected');
  assert.ok(!states.includes('connected'), `never connected, states: ${states}`);
  assert.ok(errors.includes(code), `errors seen: ${errors}`);
}

test('a wrong app key ends in 4001 with no reconnect loop', async (t) => {
  await refusedWithoutRetry(t, 'no-such-key', 4001);
});

test('a disabled app ends in 4003 with no reconnect loop', async (t) => {
  await refusedWithoutRetry(t, env.disabledKey, 4003);
});
