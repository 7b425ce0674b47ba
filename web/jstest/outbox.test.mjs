import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Outbox, newClientMsgId, classifySendError, sendPayload } from '../static/js/outbox.js';

class MemoryStorage {
  constructor() { this.m = new Map(); }
  getItem(k) { return this.m.has(k) ? this.m.get(k) : null; }
  setItem(k, v) { this.m.set(k, String(v)); }
  removeItem(k) { this.m.delete(k); }
}

test('entries survive a reload (a new Outbox on the same storage)', () => {
  const st = new MemoryStorage();
  const a = new Outbox(st, 'chatd.outbox.u_1');
  const e1 = a.add('general', 'hello', { now: 1, id: 'id-1' });
  a.add('random', 'world', { now: 2, id: 'id-2' });
  assert.equal(e1.state, 'pending');
  const b = new Outbox(st, 'chatd.outbox.u_1');
  assert.deepEqual(b.list().map((e) => [e.clientMsgId, e.room, e.text]), [['id-1', 'general', 'hello'], ['id-2', 'random', 'world']]);
  assert.deepEqual(b.list('random').map((e) => e.clientMsgId), ['id-2']);
});

test('remove on ack empties the storage key', () => {
  const st = new MemoryStorage();
  const o = new Outbox(st, 'k');
  o.add('general', 'x', { id: 'a' });
  assert.equal(o.remove('a'), true);
  assert.equal(o.remove('a'), false);
  assert.equal(st.getItem('k'), null);
  assert.equal(new Outbox(st, 'k').list().length, 0);
});

test('users do not share an outbox', () => {
  const st = new MemoryStorage();
  new Outbox(st, 'chatd.outbox.u_1').add('general', 'mine', { id: 'a' });
  assert.equal(new Outbox(st, 'chatd.outbox.u_2').list().length, 0);
});

test('failed entries stay failed, other states load as pending', () => {
  const st = new MemoryStorage();
  const o = new Outbox(st, 'k');
  o.add('general', 'a', { id: 'a', now: 1 });
  o.add('general', 'b', { id: 'b', now: 2 });
  o.update('a', { state: 'failed', error: 'too long' });
  o.update('b', { state: 'sending' });
  const r = new Outbox(st, 'k');
  assert.equal(r.get('a').state, 'failed');
  assert.equal(r.get('a').error, 'too long');
  assert.equal(r.get('b').state, 'pending');
  assert.deepEqual(r.pending().map((e) => e.clientMsgId), ['b']);
});

test('corrupt or hostile storage does not break loading', () => {
  const st = new MemoryStorage();
  st.setItem('k', '{not json');
  assert.deepEqual(new Outbox(st, 'k').list(), []);
  st.setItem('k', JSON.stringify({ a: 1 }));
  assert.deepEqual(new Outbox(st, 'k').list(), []);
  st.setItem('k', JSON.stringify([null, { clientMsgId: 1 }, { clientMsgId: 'x', room: 'r', text: 't', createdAt: 2 }, { clientMsgId: 'x', room: 'r', text: 'dup', createdAt: 3 }]));
  const o = new Outbox(st, 'k');
  assert.deepEqual(o.list().map((e) => e.text), ['t']);
});

test('entries load oldest first', () => {
  const st = new MemoryStorage();
  st.setItem('k', JSON.stringify([
    { clientMsgId: 'b', room: 'r', text: 'b', createdAt: 20 },
    { clientMsgId: 'a', room: 'r', text: 'a', createdAt: 10 },
  ]));
  assert.deepEqual(new Outbox(st, 'k').pending().map((e) => e.text), ['a', 'b']);
});

test('a storage that throws keeps entries in memory', () => {
  const st = { getItem() { throw new Error('denied'); }, setItem() { throw new Error('quota'); }, removeItem() {} };
  const o = new Outbox(st, 'k');
  o.add('general', 'x', { id: 'a' });
  assert.equal(o.list().length, 1);
  const none = new Outbox(null, 'k');
  none.add('general', 'y');
  assert.equal(none.list().length, 1);
});

test('removeRoom and clear', () => {
  const st = new MemoryStorage();
  const o = new Outbox(st, 'k');
  o.add('a', '1'); o.add('b', '2'); o.add('a', '3');
  o.removeRoom('a');
  assert.deepEqual(o.list().map((e) => e.text), ['2']);
  o.clear();
  assert.equal(st.getItem('k'), null);
});

test('client message ids are unique', () => {
  const ids = new Set();
  for (let i = 0; i < 1000; i++) ids.add(newClientMsgId());
  assert.equal(ids.size, 1000);
  const fallback = newClientMsgId({ getRandomValues: (b) => { for (let i = 0; i < b.length; i++) b[i] = i; return b; } });
  assert.equal(fallback, '000102030405060708090a0b0c0d0e0f');
  assert.ok(newClientMsgId(null).length === 32);
});

test('send errors: transient ones retry, others fail', () => {
  for (const c of ['disconnected', 'rate_limited', 'unavailable', 'internal', 'timeout']) assert.equal(classifySendError(c), 'retry', c);
  for (const c of ['too_large', 'bad_request', 'forbidden', 'not_found']) assert.equal(classifySendError(c), 'fail', c);
});

test('a reply keeps its thread across a reload, and is sent with reply_to', () => {
  const st = new MemoryStorage();
  const a = new Outbox(st, 'k');
  a.add('general', 'yes', { id: 'r', now: 1, replyTo: 41 });
  a.add('general', 'plain', { id: 'p', now: 2 });
  const b = new Outbox(st, 'k');
  assert.deepEqual(b.list().map((e) => e.replyTo), [41, undefined]);
  assert.deepEqual(sendPayload(b.get('r')), { room: 'general', text: 'yes', client_msg_id: 'r', reply_to: 41 });
  assert.deepEqual(sendPayload(b.get('p')), { room: 'general', text: 'plain', client_msg_id: 'p' });
  assert.equal(JSON.parse(st.getItem('k'))[1].replyTo, undefined); // plain entries are stored as before
});

test('a stored reply_to that is not a positive integer is dropped, not sent', () => {
  const st = new MemoryStorage();
  st.setItem('k', JSON.stringify([
    { clientMsgId: 'a', room: 'general', text: 'x', replyTo: '41', createdAt: 1 },
    { clientMsgId: 'b', room: 'general', text: 'y', replyTo: -3, createdAt: 2 },
    { clientMsgId: 'c', room: 'general', text: 'z', replyTo: 7, createdAt: 3 },
  ]));
  const o = new Outbox(st, 'k');
  assert.deepEqual(o.list().map((e) => sendPayload(e).reply_to), [undefined, undefined, 7]);
});
