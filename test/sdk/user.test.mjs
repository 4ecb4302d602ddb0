// User authentication through pusher-js signin(): server-to-user events,
// watchlist online/offline, terminate_connections, and presence without
// channel_data for a signed-in user.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { client, server, track, connected, subscribe, signedIn, next, nextMatching, nextError, json, uid, within } from './lib/harness.mjs';

// userChannelReady resolves once the server answered pusher-js's own
// subscription to #server-to-user-<id>.
function userChannelReady(p, id) {
  const name = `#server-to-user-${id}`;
  return within(new Promise((resolve, reject) => {
    const h = (m) => {
      if (m.channel !== name) return;
      if (m.event === 'pusher_internal:subscription_succeeded') { p.connection.unbind('message', h); resolve(); }
      if (m.event === 'pusher:subscription_error') { p.connection.unbind('message', h); reject(new Error(`${name} refused: ${JSON.stringify(m.data)}`)); }
    };
    p.connection.bind('message', h);
  }), `subscription_succeeded on ${name}`, [p]);
}

test('signin: pusher.sendToUser reaches every connection of the user through user.bind', async (t) => {
  const id = uid('user-');
  const a1 = client({ name: 'A1', user: { id, user_info: { name: 'Ann' } } });
  const a2 = client({ name: 'A2', user: { id, user_info: { name: 'Ann' } } });
  const other = client({ name: 'O', user: { id: uid('user-') } });
  track(t, a1, a2, other);
  await Promise.all([connected(a1), connected(a2), connected(other)]);
  await Promise.all([a1, a2, other].map(async (p) => {
    const ready = userChannelReady(p, p.__user.id);
    await signedIn(p);
    await ready;
  }));
  assert.equal(a1.user.user_data.id, id);

  const notOther = [];
  other.user.bind('notice', (d) => notOther.push(d));
  const got1 = next(a1.user, 'notice', a1);
  const got2 = next(a2.user, 'notice', a2);
  const res = await server().sendToUser(id, 'notice', { text: 'hello' });
  assert.equal(res.status, 200);
  assert.deepEqual(await got1, { text: 'hello' });
  assert.deepEqual(await got2, { text: 'hello' });

  // Marker on the other user's own channel: it gets its own event but not Ann's.
  const mine = next(other.user, 'mine', other);
  await server().sendToUser(other.user.user_data.id, 'mine', {});
  await mine;
  assert.deepEqual(notOther, []);
});

test('watchlist: two users watching each other see online and offline', async (t) => {
  const ida = uid('wa-');
  const idb = uid('wb-');
  const a = client({ name: 'A', user: { id: ida, watchlist: [idb] } });
  const b = client({ name: 'B', user: { id: idb, watchlist: [ida] } });
  track(t, a, b);
  await connected(a);
  // Right after signin the server reports the watched users' current state.
  const initial = nextMatching(a.user.watchlist, 'offline', (e) => e.user_ids.includes(idb), a, `initial offline [${idb}] on A`);
  await signedIn(a);
  await initial;

  const bOnline = nextMatching(a.user.watchlist, 'online', (e) => e.user_ids.includes(idb), a, `online [${idb}] on A`);
  const aSeenByB = nextMatching(b.user.watchlist, 'online', (e) => e.user_ids.includes(ida), b, `initial online [${ida}] on B`);
  await connected(b);
  await signedIn(b);
  await bOnline;
  await aSeenByB;

  const bOffline = nextMatching(a.user.watchlist, 'offline', (e) => e.user_ids.includes(idb), a, `offline [${idb}] on A`);
  b.disconnect();
  await bOffline;
});

test('terminateUserConnections closes every connection of the user with 4009', async (t) => {
  const id = uid('user-');
  const a1 = client({ name: 'A1', user: { id } });
  const a2 = client({ name: 'A2', user: { id } });
  const other = client({ name: 'O', user: { id: uid('user-') } });
  track(t, a1, a2, other);
  await Promise.all([connected(a1), connected(a2), connected(other)]);
  await Promise.all([signedIn(a1), signedIn(a2), signedIn(other)]);

  const closed1 = nextError(a1, 4009);
  const closed2 = nextError(a2, 4009);
  const res = await server().terminateUserConnections(id);
  assert.equal(res.status, 200);
  await closed1;
  await closed2;
  // 4009 is in pusher-js's "refused" range: no automatic reconnect.
  for (const p of [a1, a2]) {
    await within(new Promise((resolve) => {
      if (p.connection.state === 'disconnected') return resolve();
      p.connection.bind('state_change', (s) => s.current === 'disconnected' && resolve());
    }), 'state disconnected', [p]);
  }
  // The other user keeps its connection and still receives.
  assert.equal(other.connection.state, 'connected');
  const ch = await subscribe(other, uid('public-'));
  const got = next(ch, 'still-here', other);
  await server().trigger(ch.name, 'still-here', {});
  await got;
});

test('presence subscription without channel_data takes the member from the signed-in user', async (t) => {
  const name = uid('presence-');
  const ida = uid('ua-');
  const idb = uid('ub-');
  // No `member` option: the authorizer signs socket_id:channel only.
  const a = client({ name: 'A', user: { id: ida, user_info: { name: 'Ann' } } });
  const b = client({ name: 'B', user: { id: idb, user_info: { name: 'Ben' } } });
  track(t, a, b);
  await connected(a);
  await signedIn(a);
  const chA = await subscribe(a, name);
  assert.equal(chA.members.count, 1);
  assert.equal(chA.members.me && chA.members.me.id, ida);

  const added = next(chA, 'pusher:member_added', a);
  await connected(b);
  await signedIn(b);
  const chB = await subscribe(b, name);
  const m = await added;
  assert.equal(m.id, idb);
  assert.deepEqual(m.info, { name: 'Ben' });
  assert.equal(chB.members.count, 2);
  const users = await json(server().get({ path: `/channels/${name}/users` }));
  assert.deepEqual(users.users.map((u) => u.id).sort(), [ida, idb].sort());
});
