// The WebSocket connection: request/ack matching, connection state, and
// reconnecting with backoff. No DOM here; the browser's WebSocket, timers and
// the session check are passed in, so node tests can drive it with fakes.

import { Backoff } from './backoff.js';

/** A connection that lived this long after welcome resets the backoff. */
export const HEALTHY_MS = 10000;
/** How long to wait for the socket to open and the welcome to arrive. */
export const CONNECT_TIMEOUT_MS = 15000;
/** How long a request waits for its ack before it fails. */
export const REQUEST_TIMEOUT_MS = 20000;

export class Connection {
  /**
   * @param {object} o
   * @param {string|(() => string)} o.url
   * @param {Function} o.WebSocket constructor
   * @param {() => Promise<'ok'|'unauthorized'|'unreachable'>} o.checkSession
   * @param {(state: {state:string, retryAt?:number, code?:number}) => void} o.onState
   * @param {(welcome: object) => void} o.onWelcome
   * @param {(type: string, payload: any, frame: object) => void} o.onEvent
   * @param {() => void} o.onUnauthorized
   */
  constructor(o) {
    this.o = o;
    this.now = o.now || (() => Date.now());
    this.setTimeout = o.setTimeout || ((f, ms) => setTimeout(f, ms));
    this.clearTimeout = o.clearTimeout || ((t) => clearTimeout(t));
    this.backoff = new Backoff(o.backoff);
    this.ws = null;
    this.state = 'idle'; // idle | connecting | online | offline | stopped
    this.seq = 0;
    this.pending = new Map(); // id -> {resolve, reject, timer}
    this.retryTimer = null;
    this.connectTimer = null;
    this.welcomedAt = 0;
    this.generation = 0; // bumps per socket, so stale callbacks are ignored
    this.stopped = true;
  }

  get online() { return this.state === 'online'; }

  setState(state, extra = {}) {
    this.state = state;
    if (this.o.onState) this.o.onState({ state, ...extra });
  }

  /** start connects, and keeps reconnecting until stop. */
  start() {
    this.stopped = false;
    this.attempt();
  }

  /** stop closes the socket for good (logout). */
  stop() {
    this.stopped = true;
    this.clearTimeout(this.retryTimer);
    this.clearTimeout(this.connectTimer);
    this.generation++;
    const ws = this.ws;
    this.ws = null;
    if (ws) {
      try { ws.close(1000, 'bye'); } catch { /* already closed */ }
    }
    this.failPending('disconnected', 'Disconnected.');
    this.setState('stopped');
  }

  /** retryNow skips the wait before the next reconnect (e.g. the browser came online). */
  retryNow() {
    if (this.stopped || this.state !== 'offline') return;
    this.clearTimeout(this.retryTimer);
    this.attempt();
  }

  async attempt() {
    if (this.stopped) return;
    const gen = ++this.generation;
    this.setState('connecting');
    let session = 'ok';
    try {
      session = await this.o.checkSession();
    } catch {
      session = 'unreachable';
    }
    if (gen !== this.generation || this.stopped) return;
    if (session === 'unauthorized') {
      this.stop();
      if (this.o.onUnauthorized) this.o.onUnauthorized();
      return;
    }
    if (session !== 'ok') {
      this.scheduleRetry();
      return;
    }
    this.open(gen);
  }

  open(gen) {
    let ws;
    try {
      const url = typeof this.o.url === 'function' ? this.o.url() : this.o.url;
      ws = new this.o.WebSocket(url);
    } catch {
      this.scheduleRetry();
      return;
    }
    this.ws = ws;
    this.welcomedAt = 0;
    this.connectTimer = this.setTimeout(() => {
      if (gen === this.generation && !this.welcomedAt) {
        try { ws.close(4000, 'connect timeout'); } catch { /* ignore */ }
        this.handleClose(gen, 4000);
      }
    }, CONNECT_TIMEOUT_MS);
    ws.onmessage = (ev) => { if (gen === this.generation) this.handleFrame(ev.data); };
    ws.onclose = (ev) => this.handleClose(gen, ev && ev.code);
    ws.onerror = () => { /* a close event always follows */ };
  }

  handleFrame(data) {
    let f;
    try {
      f = JSON.parse(data);
    } catch {
      return; // the server only sends JSON; ignore anything else
    }
    if (!f || typeof f.type !== 'string') return;
    if (f.type === 'welcome') {
      this.welcomedAt = this.now();
      this.clearTimeout(this.connectTimer);
      this.setState('online');
      if (this.o.onWelcome) this.o.onWelcome(f.payload || {});
      return;
    }
    if ((f.type === 'ack' || f.type === 'error') && f.id != null && this.pending.has(f.id)) {
      const p = this.pending.get(f.id);
      this.pending.delete(f.id);
      this.clearTimeout(p.timer);
      if (f.type === 'ack') p.resolve(f.payload || {});
      else p.reject(toError(f.payload));
      return;
    }
    if (this.o.onEvent) this.o.onEvent(f.type, f.payload, f);
  }

  handleClose(gen, code) {
    if (gen !== this.generation) return;
    this.generation++; // whatever this socket still says is stale now
    this.clearTimeout(this.connectTimer);
    const ws = this.ws;
    this.ws = null;
    if (ws) { ws.onmessage = null; ws.onclose = null; ws.onerror = null; }
    this.failPending('disconnected', 'The connection was lost.');
    if (this.stopped) return;
    if (this.welcomedAt && this.now() - this.welcomedAt >= HEALTHY_MS) this.backoff.reset();
    this.lastCloseCode = code;
    this.scheduleRetry(code);
  }

  scheduleRetry(code) {
    if (this.stopped) return;
    const delay = this.backoff.next();
    this.clearTimeout(this.retryTimer);
    this.retryTimer = this.setTimeout(() => this.attempt(), delay);
    this.setState('offline', { retryAt: this.now() + delay, code });
  }

  failPending(code, message) {
    const list = [...this.pending.values()];
    this.pending.clear();
    for (const p of list) {
      this.clearTimeout(p.timer);
      p.reject(toError({ code, message }));
    }
  }

  /** send writes a frame without asking for an ack; false if not connected. */
  send(type, payload) {
    if (!this.ws || this.state !== 'online') return false;
    try {
      this.ws.send(JSON.stringify({ type, payload }));
      return true;
    } catch {
      return false;
    }
  }

  /** request sends a frame with an id and resolves with its ack payload. */
  request(type, payload, { timeout = REQUEST_TIMEOUT_MS } = {}) {
    if (!this.ws || this.state !== 'online') {
      return Promise.reject(toError({ code: 'disconnected', message: 'Not connected.' }));
    }
    const id = `c-${++this.seq}`;
    return new Promise((resolve, reject) => {
      const timer = this.setTimeout(() => {
        if (this.pending.delete(id)) reject(toError({ code: 'timeout', message: 'No answer from the server.' }));
      }, timeout);
      this.pending.set(id, { resolve, reject, timer });
      try {
        this.ws.send(JSON.stringify({ type, id, payload }));
      } catch {
        this.pending.delete(id);
        this.clearTimeout(timer);
        reject(toError({ code: 'disconnected', message: 'Not connected.' }));
      }
    });
  }
}

/** ProtocolError is a failed request: code is a PROTOCOL.md error code. */
export class ProtocolError extends Error {
  constructor(code, message) {
    super(message || code);
    this.code = code;
  }
}

function toError(p) {
  return new ProtocolError((p && p.code) || 'internal', (p && p.message) || '');
}
