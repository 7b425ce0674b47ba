import { test } from 'node:test';
import assert from 'node:assert/strict';
import { planCatchUp, catchUp, gapFillQuery, GAP_THRESHOLD } from '../static/js/sync.js';

const msg = (seq) => ({ room: 'r', seq, text: `t${seq}` });

// fakeServer answers history queries from a room holding seqs 1..last.
function fakeServer(last, calls = []) {
  return async (q) => {
    calls.push(q);
    const limit = q.limit || 50;
    let lo, hi;
    if (q.after_seq !== undefined) { lo = q.after_seq + 1; hi = Math.min(last, q.after_seq + limit); return page(lo, hi, hi < last); }
    if (q.before_seq !== undefined) { hi = Math.min(last, q.before_seq - 1); lo = Math.max(1, hi - limit + 1); return page(lo, hi, lo > 1); }
    hi = last; lo = Math.max(1, hi - limit + 1); return page(lo, hi, lo > 1);
  };
  function page(lo, hi, more) {
    const messages = [];
    for (let s = lo; s <= hi; s++) messages.push(msg(s));
    return { messages, has_more: more };
  }
}

test('plan: nothing missed', () => {
  assert.deepEqual(planCatchUp(10, 10), { kind: 'none' });
  assert.deepEqual(planCatchUp(12, 10), { kind: 'none' });
});

test('plan: a few missed pages forward from the last seen seq', () => {
  assert.deepEqual(planCatchUp(10, 50), { kind: 'forward', afterSeq: 10 });
  assert.deepEqual(planCatchUp(0, GAP_THRESHOLD), { kind: 'forward', afterSeq: 0 });
});

test('plan: very many missed loads the latest page and marks a gap', () => {
  assert.deepEqual(planCatchUp(10, 10 + GAP_THRESHOLD + 1), { kind: 'latest', beforeSeq: 1012, gap: { from: 11, to: 1011 } });
});

test('catchUp pages after_seq until the cursor, in order, without repeats', async () => {
  const calls = [];
  const got = [];
  const res = await catchUp({ lastSeen: 10, cursor: 260, fetchPage: fakeServer(300, calls), onPage: (m) => got.push(...m) });
  assert.deepEqual(calls.map((c) => c.after_seq), [10, 110, 210]);
  assert.equal(res.gap, null);
  const seqs = got.map((m) => m.seq);
  // Pages may run past the cursor (messages stored meanwhile); the store
  // dedupes those against the live stream. Before the cursor: all, in order.
  assert.deepEqual(seqs.filter((s) => s <= 260), Array.from({ length: 250 }, (_, i) => 11 + i));
  assert.equal(new Set(seqs).size, seqs.length);
});

test('catchUp stops when the server has no more', async () => {
  const calls = [];
  const res = await catchUp({ lastSeen: 5, cursor: 40, fetchPage: fakeServer(40, calls), onPage: () => {} });
  assert.equal(calls.length, 1);
  assert.equal(res.fetched, 35);
  assert.equal(res.gap, null);
});

test('catchUp with a huge backlog loads the page ending at the cursor and reports the gap', async () => {
  const calls = [];
  const got = [];
  const res = await catchUp({ lastSeen: 100, cursor: 5000, fetchPage: fakeServer(5100, calls), onPage: (m) => got.push(...m) });
  assert.deepEqual(calls, [{ before_seq: 5001, limit: 50 }]);
  assert.equal(got[0].seq, 4951);
  assert.equal(got[got.length - 1].seq, 5000);
  assert.deepEqual(res.gap, { from: 101, to: 4950 });
});

test('catchUp never spins on a server that does not advance', async () => {
  let n = 0;
  const res = await catchUp({ lastSeen: 1, cursor: 10, fetchPage: async () => { n++; return { messages: [msg(1)], has_more: true }; }, onPage: () => {} });
  assert.equal(n, 1);
  assert.equal(res.gap, null);
});

test('catchUp leaves a gap when it runs out of pages', async () => {
  const res = await catchUp({ lastSeen: 0, cursor: 900, maxPages: 2, fetchPage: fakeServer(900), onPage: () => {} });
  assert.deepEqual(res.gap, { from: 201, to: 900 });
});

test('gapFillQuery asks for the newest part of the gap', () => {
  assert.deepEqual(gapFillQuery({ from: 11, to: 4950 }), { before_seq: 4951, limit: 100 });
});
