import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Connection, HEALTHY_MS } from '../static/js/conn.js';

// A fake clock and WebSocket, so reconnect timing is deterministic.
function harness({ session = 'ok' } = {}) {
  let now = 0;
  const timers = [];
  const sockets = [];
  const events = [];
  const states = [];
  class FakeWS {
    constructor(url) { this.url = url; this.sent = []; this.closed = null; sockets.push(this); }
    send(s) { if (this.closed) throw new Error('closed'); this.sent.push(JSON.parse(s)); }
    close(code) { this.closed = code; }
    // test helpers
    recv(obj) { this.onmessage({ data: JSON.stringify(obj) }); }
    drop(code = 1006) { this.closed = code; this.onclose({ code }); }
  }
  const h = {
    sessions: [],
    sessionAnswer: session,
    sockets, events, states,
    get now() { return now; },
    async advance(ms) {
      now += ms;
      for (;;) {
        timers.sort((a, b) => a.at - b.at);
        const t = timers[0];
        if (!t || t.at > now) break;
        timers.shift();
        t.fn();
        await flush();
      }
      await flush();
    },
    nextTimerIn() {
      const live = timers.filter((t) => !t.cancelled).sort((a, b) => a.at - b.at);
      return live.length ? live[0].at - now : null;
    },
  };
  const c = new Connection({
    url: 'ws://x/ws',
    WebSocket: FakeWS,
    now: () => now,
    setTimeout: (fn, ms) => { const t = { fn, at: now + ms }; timers.push(t); return t; },
    clearTimeout: (t) => { const i = timers.indexOf(t); if (i >= 0) timers.splice(i, 1); },
    checkSession: async () => { h.sessions.push(now); return h.sessionAnswer; },
    onState: (s) => states.push(s.state),
    onWelcome: (w) => events.push(['welcome', w]),
    onEvent: (type, p) => events.push([type, p]),
    onUnauthorized: () => events.push(['unauthorized']),
    backoff: { random: () => 0 },
  });
  h.c = c;
  return h;
}

const flush = () => new Promise((r) => setImmediate(r));

test('connects, waits for welcome, then is online', async () => {
  const h = harness();
  h.c.start();
  await flush();
  assert.equal(h.sockets.length, 1);
  assert.equal(h.c.state, 'connecting');
  h.sockets[0].recv({ type: 'welcome', payload: { user: { id: 'u1' }, rooms: [] } });
  assert.equal(h.c.state, 'online');
  assert.deepEqual(h.events[0], ['welcome', { user: { id: 'u1' }, rooms: [] }]);
});

test('requests resolve with their ack and reject with their error', async () => {
  const h = harness();
  h.c.start();
  await flush();
  const ws = h.sockets[0];
  ws.recv({ type: 'welcome', payload: {} });
  const p1 = h.c.request('history', { room: 'general' });
  const p2 = h.c.request('send_message', { room: 'general', text: 'x' });
  assert.equal(ws.sent.length, 2);
  assert.notEqual(ws.sent[0].id, ws.sent[1].id);
  // Answers may come in any order; each finds its request.
  ws.recv({ type: 'error', id: ws.sent[1].id, payload: { code: 'rate_limited', message: 'slow down' } });
  ws.recv({ type: 'ack', id: ws.sent[0].id, payload: { messages: [], has_more: false } });
  assert.deepEqual(await p1, { messages: [], has_more: false });
  await assert.rejects(p2, (e) => e.code === 'rate_limited' && e.message === 'slow down');
  // Events without an id go to onEvent.
  ws.recv({ type: 'new_message', payload: { seq: 1 } });
  ws.recv({ type: 'error', payload: { code: 'bad_request' } });
  assert.deepEqual(h.events.slice(1), [['new_message', { seq: 1 }], ['error', { code: 'bad_request' }]]);
});

test('a lost connection fails pending requests and reconnects with growing delays', async () => {
  const h = harness();
  h.c.start();
  await flush();
  h.sockets[0].recv({ type: 'welcome', payload: {} });
  const p = h.c.request('who', { room: 'general' });
  h.sockets[0].drop(1001);
  await assert.rejects(p, (e) => e.code === 'disconnected');
  assert.equal(h.c.state, 'offline');
  assert.equal(h.nextTimerIn(), 250);
  await h.advance(250);
  assert.equal(h.sockets.length, 2);
  h.sockets[1].drop(1006); // server still down
  assert.equal(h.nextTimerIn(), 500);
  await h.advance(500);
  h.sockets[2].drop(1006);
  assert.equal(h.nextTimerIn(), 1000);
  // Requests while offline fail at once, without touching a socket.
  await assert.rejects(h.c.request('who', {}), (e) => e.code === 'disconnected');
  assert.equal(h.c.send('typing', {}), false);
});

test('the delay is capped at 30 s', async () => {
  const h = harness({ session: 'unreachable' });
  h.c.start();
  await flush();
  let last = 0;
  for (let i = 0; i < 12; i++) {
    last = h.nextTimerIn();
    await h.advance(last);
  }
  assert.ok(last <= 30000 && last >= 15000, String(last));
  assert.equal(h.sockets.length, 0); // never opened a socket to an unreachable server
});

test('a healthy connection resets the backoff; a flapping one does not', async () => {
  const h = harness();
  h.c.start();
  await flush();
  for (let i = 0; i < 3; i++) {
    h.sockets.at(-1).recv({ type: 'welcome', payload: {} });
    h.sockets.at(-1).drop(1013);
    await h.advance(h.nextTimerIn());
  }
  h.sockets.at(-1).recv({ type: 'welcome', payload: {} });
  h.sockets.at(-1).drop(1013);
  assert.equal(h.nextTimerIn(), 2000); // 4th retry in a row
  await h.advance(2000);
  h.sockets.at(-1).recv({ type: 'welcome', payload: {} });
  await h.advance(HEALTHY_MS);
  h.sockets.at(-1).drop(1001);
  assert.equal(h.nextTimerIn(), 250);
});

test('a revoked session stops reconnecting and reports it', async () => {
  const h = harness();
  h.c.start();
  await flush();
  h.sockets[0].recv({ type: 'welcome', payload: {} });
  h.sessionAnswer = 'unauthorized';
  h.sockets[0].drop(1008);
  await h.advance(h.nextTimerIn());
  assert.deepEqual(h.events.at(-1), ['unauthorized']);
  assert.equal(h.c.state, 'stopped');
  assert.equal(h.nextTimerIn(), null);
  assert.equal(h.sockets.length, 1);
});

test('no welcome in time: close and retry', async () => {
  const h = harness();
  h.c.start();
  await flush();
  await h.advance(15000);
  assert.equal(h.sockets[0].closed, 4000);
  assert.equal(h.c.state, 'offline');
  await h.advance(h.nextTimerIn());
  assert.equal(h.sockets.length, 2);
});

test('retryNow skips the wait; stop ends everything', async () => {
  const h = harness();
  h.c.start();
  await flush();
  h.sockets[0].drop(1006);
  assert.equal(h.c.state, 'offline');
  h.c.retryNow();
  await flush();
  assert.equal(h.sockets.length, 2);
  h.c.stop();
  assert.equal(h.sockets[1].closed, 1000);
  assert.equal(h.c.state, 'stopped');
  assert.equal(h.nextTimerIn(), null);
  // A late close from the old socket changes nothing.
  h.sockets[1].onclose && h.sockets[1].onclose({ code: 1006 });
  assert.equal(h.c.state, 'stopped');
});

test('frames that are not JSON are ignored', async () => {
  const h = harness();
  h.c.start();
  await flush();
  h.sockets[0].onmessage({ data: 'not json' });
  h.sockets[0].onmessage({ data: '42' });
  assert.equal(h.events.length, 0);
});
