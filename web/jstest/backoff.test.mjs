import { test } from 'node:test';
import assert from 'node:assert/strict';
import { backoffDelay, Backoff, CAP_MS } from '../static/js/backoff.js';

test('delays grow exponentially between half and all of each step', () => {
  for (let a = 0; a < 6; a++) {
    const step = 500 * 2 ** a;
    assert.equal(backoffDelay(a, { random: () => 0 }), step / 2);
    assert.equal(backoffDelay(a, { random: () => 0.999999 }), step);
  }
});

test('delays never exceed the 30 s cap, even for huge attempt counts', () => {
  for (const a of [6, 7, 10, 50, 1e6, Infinity]) {
    const d = backoffDelay(a, { random: () => 0.999999 });
    assert.ok(d <= CAP_MS, `attempt ${a}: ${d}`);
    assert.ok(d >= CAP_MS / 2, `attempt ${a}: ${d}`);
  }
  assert.equal(CAP_MS, 30000);
});

test('jitter spreads clients apart', () => {
  const seen = new Set();
  for (let i = 0; i < 50; i++) seen.add(backoffDelay(4));
  assert.ok(seen.size > 10);
});

test('bad attempt numbers count as the first', () => {
  assert.equal(backoffDelay(-3, { random: () => 0 }), 250);
  assert.equal(backoffDelay(NaN, { random: () => 0 }), 250);
});

test('Backoff counts attempts and resets', () => {
  const b = new Backoff({ random: () => 0 });
  assert.deepEqual([b.next(), b.next(), b.next()], [250, 500, 1000]);
  b.reset();
  assert.equal(b.next(), 250);
});
