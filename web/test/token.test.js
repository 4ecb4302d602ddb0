import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tokenSource, tokenFromFragment } from '../src/token.js';

function fakeWindow(extra = {}) {
  const store = new Map();
  const replaced = [];
  return {
    location: { hash: '', pathname: '/', search: '' },
    history: { replaceState: (_s, _t, url) => replaced.push(url) },
    sessionStorage: { getItem: (k) => store.get(k) ?? null, setItem: (k, v) => store.set(k, v), removeItem: (k) => store.delete(k) },
    replaced,
    store,
    ...extra,
  };
}

test('parleyGetToken wins and is called on every get', async () => {
  let n = 0;
  const w = fakeWindow({ parleyGetToken: async () => `tok${++n}`, PARLEY_TOKEN: 'static' });
  const src = tokenSource(w);
  assert.equal(src.source, 'host');
  assert.equal(await src.get(), 'tok1');
  assert.equal(await src.get(), 'tok2');
});

test('PARLEY_TOKEN is used when set', async () => {
  const src = tokenSource(fakeWindow({ PARLEY_TOKEN: 'abc' }));
  assert.equal(await src.get(), 'abc');
});

test('a fragment token is taken, remembered for the tab and removed from the address bar', async () => {
  const w = fakeWindow();
  w.location.hash = '#token=aaa.bbb.ccc';
  w.location.search = '?x=1';
  const src = tokenSource(w);
  assert.equal(await src.get(), 'aaa.bbb.ccc');
  assert.deepEqual(w.replaced, ['/?x=1']);
  assert.equal(w.store.get('parley.token'), 'aaa.bbb.ccc');
  w.location.hash = '';
  assert.equal(await tokenSource(w).get(), 'aaa.bbb.ccc');
});

test('no token anywhere gives null', () => {
  assert.equal(tokenSource(fakeWindow()), null);
});

test('tokenFromFragment rejects junk', () => {
  assert.equal(tokenFromFragment('#token=<script>'), null);
  assert.equal(tokenFromFragment('#other=1'), null);
  assert.equal(tokenFromFragment('#token=a-b_c.d'), 'a-b_c.d');
});
