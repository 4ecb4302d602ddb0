import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TypingSender, TypingTracker, typingText, TYPING_THROTTLE_MS } from '../src/typing.js';

test('sender emits at most one start per throttle interval', () => {
  const s = new TypingSender(2000);
  const sent = [];
  for (let t = 0; t <= 10000; t += 100) {
    const e = s.input(t, false);
    if (e) sent.push([t, e]);
  }
  assert.deepEqual(sent.map(([t]) => t), [0, 2000, 4000, 6000, 8000, 10000]);
  assert.ok(sent.every(([, e]) => e === 'start'));
});

test('the default throttle is 2 s', () => {
  assert.equal(TYPING_THROTTLE_MS, 2000);
});

test('stop is sent once per burst, and the next keystroke starts at once', () => {
  const s = new TypingSender(2000);
  assert.equal(s.stop(), null, 'no stop before any start');
  assert.equal(s.input(0, false), 'start');
  assert.equal(s.input(100, true), 'stop', 'clearing the composer stops');
  assert.equal(s.stop(), null);
  assert.equal(s.input(200, false), 'start', 'not throttled after a stop');
});

test('tracker expires a start that is not refreshed', () => {
  const tr = new TypingTracker(5000);
  tr.start('ana', 0);
  tr.start('ben', 3000);
  assert.deepEqual(tr.active(4999), ['ana', 'ben']);
  assert.equal(tr.nextExpiry(), 5000);
  assert.deepEqual(tr.active(5000), ['ben']);
  tr.start('ben', 7000);
  assert.deepEqual(tr.active(11999), ['ben']);
  assert.deepEqual(tr.active(12000), []);
  assert.equal(tr.nextExpiry(), null);
});

test('tracker stop removes at once', () => {
  const tr = new TypingTracker(5000);
  tr.start('ana', 0);
  tr.stop('ana');
  assert.deepEqual(tr.active(1), []);
});

test('typingText', () => {
  assert.equal(typingText([]), '');
  assert.equal(typingText(['Ana']), 'Ana is typing…');
  assert.equal(typingText(['Ana', 'Ben']), 'Ana and Ben are typing…');
  assert.equal(typingText(['a', 'b', 'c']), '3 people are typing…');
});
