// Presence channels through pusher-js: members, member_added/member_removed
// keyed by user id across connections, and the HTTP user queries.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { client, server, track, connected, subscribe, next, record, json, uid, describeFrames, eventually } from './lib/harness.mjs';

function membersOf(ch) {
  const out = {};
  ch.members.each((m) => { out[m.id] = m.info; });
  return out;
}

test('presence: members, member_added and member_removed across two clients', async (t) => {
  const name = uid('presence-');
  const a = track(t, client({ name: 'A', member: { user_id: 'alice', user_info: { name: 'Alice' } } }));
  await connected(a);
  const chA = await subscribe(a, name);
  assert.equal(chA.members.count, 1);
  assert.equal(chA.members.me.id, 'alice');
  assert.deepEqual(chA.members.me.info, { name: 'Alice' });

  const added = next(chA, 'pusher:member_added', a, 'member_added for bob on A');
  const b = client({ name: 'B', member: { user_id: 'bob', user_info: { name: 'Bob' } } });
  await connected(b);
  const chB = await subscribe(b, name);
  const member = await added;
  assert.equal(member.id, 'bob');
  assert.deepEqual(member.info, { name: 'Bob' });
  assert.equal(chA.members.count, 2);
  assert.equal(chB.members.count, 2);
  assert.deepEqual(membersOf(chB), { alice: { name: 'Alice' }, bob: { name: 'Bob' } });

  const removed = next(chA, 'pusher:member_removed', a, 'member_removed for bob on A');
  b.disconnect();
  const gone = await removed;
  assert.equal(gone.id, 'bob');
  assert.equal(chA.members.count, 1);
});

test('presence: a second connection of the same user causes no member_added or member_removed', async (t) => {
  const name = uid('presence-');
  const a = track(t, client({ name: 'A', member: { user_id: 'alice', user_info: { name: 'Alice' } } }));
  await connected(a);
  const chA = await subscribe(a, name);
  const addedOnA = record(chA, 'pusher:member_added');
  const removedOnA = record(chA, 'pusher:member_removed');

  const b1 = client({ name: 'B1', member: { user_id: 'bob', user_info: { name: 'Bob' } } });
  const b2 = client({ name: 'B2', member: { user_id: 'bob', user_info: { name: 'Bob' } } });
  track(t, b1, b2);
  await connected(b1);
  const first = next(chA, 'pusher:member_added', a);
  await subscribe(b1, name);
  assert.equal((await first).id, 'bob');

  await connected(b2);
  const chB2 = await subscribe(b2, name);
  assert.equal(chB2.members.count, 2, 'bob counts once');

  // Marker: a third user joins after bob's second connection; had the server
  // announced bob's second connection, A would have seen it before carol.
  const carolAdded = next(chA, 'pusher:member_added', a);
  const c = track(t, client({ name: 'C', member: { user_id: 'carol', user_info: {} } }));
  await connected(c);
  await subscribe(c, name);
  assert.equal((await carolAdded).id, 'carol');
  assert.deepEqual(addedOnA.map((m) => m.id), ['bob', 'carol'], `member_added on A\n${describeFrames(a)}`);

  // bob's first connection leaves: bob is still present through B2. B1 also
  // sits alone on a public channel, so the API tells when the server has
  // processed its close.
  const api = server();
  const solo = uid('solo-');
  await subscribe(b1, solo);
  b1.disconnect();
  await eventually(async () => (await json(api.get({ path: `/channels/${solo}` }))).occupied === false, 'B1 close processed');
  // Marker: carol leaves after B1's close was processed.
  const carolRemoved = next(chA, 'pusher:member_removed', a);
  c.disconnect();
  assert.equal((await carolRemoved).id, 'carol');
  assert.deepEqual(removedOnA.map((m) => m.id), ['carol'], `member_removed on A while bob still has a connection\n${describeFrames(a)}`);
  const users = await json(api.get({ path: `/channels/${name}/users` }));
  assert.deepEqual(users.users.map((u) => u.id).sort(), ['alice', 'bob']);

  const bobRemoved = next(chA, 'pusher:member_removed', a);
  b2.disconnect();
  assert.equal((await bobRemoved).id, 'bob');
});

test('presence: numeric user ids come back as strings', async (t) => {
  const name = uid('presence-');
  const a = track(t, client({ name: 'A', member: { user_id: 42, user_info: { n: 1 } } }));
  await connected(a);
  const ch = await subscribe(a, name);
  // (members.me.id keeps pusher-js's own copy of channel_data, so check the server's view)
  assert.deepEqual(Object.keys(membersOf(ch)), ['42']);
  const users = await json(server().get({ path: `/channels/${name}/users` }));
  assert.deepEqual(users, { users: [{ id: '42' }] });
});

test('presence: user queries through the pusher Node SDK', async (t) => {
  const prefix = uid('presence-q');
  const name = `${prefix}-room`;
  const api = server();
  const a = client({ name: 'A', member: { user_id: 'u1', user_info: {} } });
  const b = client({ name: 'B', member: { user_id: 'u2', user_info: {} } });
  track(t, a, b);
  await Promise.all([connected(a), connected(b)]);
  await subscribe(a, name);
  await subscribe(b, name);

  const users = await json(api.get({ path: `/channels/${name}/users` }));
  assert.deepEqual(users.users.map((u) => u.id).sort(), ['u1', 'u2']);

  const info = await json(api.get({ path: `/channels/${name}`, params: { info: 'user_count' } }));
  assert.equal(info.occupied, true);
  assert.equal(info.user_count, 2);

  const list = await json(api.get({ path: '/channels', params: { filter_by_prefix: prefix, info: 'user_count' } }));
  assert.deepEqual(list, { channels: { [name]: { user_count: 2 } } });

  const empty = await json(api.get({ path: `/channels/${uid('presence-empty')}/users` }));
  assert.deepEqual(empty, { users: [] });
});
