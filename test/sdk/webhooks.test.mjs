// Webhooks, received by a local HTTP server and checked with the pusher
// Node SDK's own verifier (pusher.webhook({headers, rawBody}).isValid()).
// The Go test configures the app's webhook URL to http://127.0.0.1:WEBHOOK_PORT/hook
// and shortens the vacate delay to WEBHOOK_VACATE_DELAY_MS.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { env, client, server, track, connected, subscribe, next, uid, within, TIMEOUT } from './lib/harness.mjs';

const received = []; // {at, valid, contentType, key, events}
const events = []; // flattened: {at, event}
let waiters = [];
let receiver;

before(async () => {
  const api = server();
  receiver = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const rawBody = Buffer.concat(chunks).toString('utf8');
      const hook = api.webhook({ headers: req.headers, rawBody });
      const at = Date.now();
      const entry = { at, valid: hook.isValid(), contentType: req.headers['content-type'], key: req.headers['x-pusher-key'], rawBody, events: [] };
      if (entry.valid) entry.events = hook.getEvents();
      received.push(entry);
      for (const event of entry.events) events.push({ at, event });
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{}');
      const ws = waiters;
      waiters = [];
      for (const w of ws) if (!w()) waiters.push(w);
    });
  });
  await new Promise((resolve, reject) => {
    receiver.once('error', reject);
    receiver.listen(env.webhookPort, '127.0.0.1', resolve);
  });
});

after(() => new Promise((resolve) => receiver.close(resolve)));

function describeHooks() {
  return received.map((r) => `  ${r.valid ? 'valid' : 'INVALID'} content-type=${r.contentType} key=${r.key} ${r.rawBody}`).join('\n');
}

// hook resolves with {at, event} for the first webhook event matching pred,
// including ones that arrived before the call.
function hook(pred, what, ms = TIMEOUT) {
  return within(new Promise((resolve) => {
    const check = () => {
      const hit = events.find((e) => pred(e.event));
      if (hit) resolve(hit);
      return !!hit;
    };
    if (!check()) waiters.push(check);
  }), `webhook ${what}\nwebhooks so far:\n${describeHooks()}`, [], ms);
}

const named = (name, channel, extra = {}) => (e) => e.name === name && e.channel === channel && Object.entries(extra).every(([k, v]) => e[k] === v);

test('every webhook passes the Node SDK verifier', async (t) => {
  const p = track(t, client({ name: 'A' }));
  await connected(p);
  const name = uid('wh-valid-');
  await subscribe(p, name);
  await hook(named('channel_occupied', name), `channel_occupied ${name}`);
  const bad = received.filter((r) => !r.valid);
  assert.deepEqual(bad, [], `invalid webhooks (content-type must be exactly application/json, X-Pusher-Key the app key, X-Pusher-Signature HMAC of the body):\n${describeHooks()}`);
  assert.ok(received.every((r) => r.contentType === 'application/json'));
});

test('channel_occupied on first subscribe, channel_vacated after the configured delay', async (t) => {
  const p = track(t, client({ name: 'A' }));
  await connected(p);
  const name = uid('wh-occ-');
  await subscribe(p, name);
  await hook(named('channel_occupied', name), `channel_occupied ${name}`);
  const left = Date.now();
  p.unsubscribe(name);
  const vacated = await hook(named('channel_vacated', name), `channel_vacated ${name}`, TIMEOUT + env.vacateDelayMs);
  const waited = vacated.at - left;
  // A lower bound only: the hold is what Pusher documents (up to 3 s).
  assert.ok(waited >= env.vacateDelayMs - 50, `channel_vacated came ${waited} ms after the unsubscribe; the configured hold is ${env.vacateDelayMs} ms`);
});

test('a channel re-occupied within the delay sends neither channel_vacated nor a second channel_occupied', async (t) => {
  const p = track(t, client({ name: 'A' }));
  await connected(p);
  const name = uid('wh-flap-');
  await subscribe(p, name);
  await hook(named('channel_occupied', name), `channel_occupied ${name}`);
  p.unsubscribe(name);
  await subscribe(p, name);
  // Marker: another channel vacated after the flap; its hold started later,
  // so once it has arrived, a vacate of the first channel would have too.
  const marker = uid('wh-marker-');
  await subscribe(p, marker);
  p.unsubscribe(marker);
  await hook(named('channel_vacated', marker), `channel_vacated ${marker}`, TIMEOUT + env.vacateDelayMs);
  const about = events.filter((e) => e.event.channel === name && e.event.name.startsWith('channel_')).map((e) => e.event.name);
  assert.deepEqual(about, ['channel_occupied'], `webhooks for ${name}`);
});

test('member_added and member_removed (after the delay) for presence channels', async (t) => {
  const name = uid('presence-wh-');
  const a = track(t, client({ name: 'A', member: { user_id: 'wh-user', user_info: { n: 1 } } }));
  await connected(a);
  await subscribe(a, name);
  await hook(named('member_added', name, { user_id: 'wh-user' }), 'member_added wh-user');
  await hook(named('channel_occupied', name), `channel_occupied ${name}`);
  const left = Date.now();
  a.disconnect();
  const removed = await hook(named('member_removed', name, { user_id: 'wh-user' }), 'member_removed wh-user', TIMEOUT + env.vacateDelayMs);
  assert.ok(removed.at - left >= env.vacateDelayMs - 50, `member_removed came ${removed.at - left} ms after the disconnect; hold is ${env.vacateDelayMs} ms`);
  await hook(named('channel_vacated', name), `channel_vacated ${name}`, TIMEOUT + env.vacateDelayMs);
});

test('client_event webhook with data as a string, socket_id and (presence) user_id', async (t) => {
  const priv = uid('private-wh-');
  const pres = uid('presence-wh-');
  const a = track(t, client({ name: 'A', member: { user_id: 'typer', user_info: {} } }));
  const sa = await connected(a);
  const chPriv = await subscribe(a, priv);
  const chPres = await subscribe(a, pres);
  chPriv.trigger('client-typing', { on: true });
  chPres.trigger('client-typing', { on: false });
  const { event: e1 } = await hook(named('client_event', priv), `client_event on ${priv}`);
  assert.equal(e1.event, 'client-typing');
  assert.equal(typeof e1.data, 'string', 'data is a JSON string like Pusher sends');
  assert.deepEqual(JSON.parse(e1.data), { on: true });
  assert.equal(e1.socket_id, sa);
  assert.equal(e1.user_id, undefined);
  const { event: e2 } = await hook(named('client_event', pres), `client_event on ${pres}`);
  assert.equal(e2.user_id, 'typer');
  assert.deepEqual(JSON.parse(e2.data), { on: false });
});

test('cache_miss webhook when a cache channel has nothing to replay', async (t) => {
  const name = uid('cache-wh-');
  const a = track(t, client({ name: 'A' }));
  await connected(a);
  const ch = a.subscribe(name);
  await next(ch, 'pusher:cache_miss', a);
  await hook(named('cache_miss', name), `cache_miss ${name}`);
});

test('subscription_count webhook', async (t) => {
  const name = uid('wh-count-');
  const [a, b] = track(t, client({ name: 'A' }), client({ name: 'B' }));
  await Promise.all([connected(a), connected(b)]);
  await subscribe(a, name);
  await subscribe(b, name);
  const { event } = await hook((e) => e.name === 'subscription_count' && e.channel === name && e.subscription_count === 2, `subscription_count 2 on ${name}`);
  assert.equal(typeof event.subscription_count, 'number');
});
