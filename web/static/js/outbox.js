// The offline outbox: messages the user sent that the server has not acked
// yet, persisted so they survive a lost connection and a page reload.
//
// No DOM here: the storage (localStorage in the browser) is passed in. Each
// entry carries the client_msg_id the server deduplicates by (per room and
// sender), so sending an entry twice stores it once.

const MAX_ENTRIES = 500; // a bound, so a stuck outbox cannot fill the quota

/**
 * newClientMsgId returns a fresh id for one message. crypto.randomUUID is in
 * every current browser and in Node; the fallback covers older engines.
 */
export function newClientMsgId(cryptoImpl = globalThis.crypto) {
  if (cryptoImpl && typeof cryptoImpl.randomUUID === 'function') return cryptoImpl.randomUUID();
  const b = new Uint8Array(16);
  if (cryptoImpl && cryptoImpl.getRandomValues) cryptoImpl.getRandomValues(b);
  else for (let i = 0; i < 16; i++) b[i] = Math.floor(Math.random() * 256);
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

export class Outbox {
  /**
   * @param {{getItem(k:string):string|null, setItem(k:string,v:string):void, removeItem(k:string):void}|null} storage
   * @param {string} key the storage key; one per user so accounts never mix
   */
  constructor(storage, key) {
    this.storage = storage;
    this.key = key;
    /** @type {{clientMsgId:string, room:string, text:string, replyTo?:number, createdAt:number, state:string, error?:string}[]} */
    this.entries = [];
    this.load();
  }

  /** load re-reads the storage (e.g. after another tab changed it). */
  load() {
    let list = [];
    let raw = null;
    try {
      raw = this.storage ? this.storage.getItem(this.key) : null;
    } catch {
      return this.entries; // unreadable storage: keep what this page has
    }
    if (raw === null && !this.storage) return this.entries;
    try {
      if (raw) list = JSON.parse(raw);
    } catch {
      list = []; // corrupt: start empty rather than fail the app
    }
    if (!Array.isArray(list)) list = [];
    const seen = new Set();
    this.entries = list.filter((e) => {
      const ok = e && typeof e.clientMsgId === 'string' && typeof e.room === 'string' &&
        typeof e.text === 'string' && !seen.has(e.clientMsgId);
      if (ok) seen.add(e.clientMsgId);
      return ok;
    }).map((e) => ({ ...e, replyTo: validReplyTo(e.replyTo), state: e.state === 'failed' ? 'failed' : 'pending' }));
    this.entries.sort((a, b) => (a.createdAt || 0) - (b.createdAt || 0));
    return this.entries;
  }

  save() {
    if (!this.storage) return;
    try {
      if (this.entries.length) this.storage.setItem(this.key, JSON.stringify(this.entries));
      else this.storage.removeItem(this.key);
    } catch {
      // Quota or privacy mode: the entries still live in memory for this page.
    }
  }

  /**
   * add queues a message (a reply to the thread of seq replyTo, if given,
   * with files uploaded already, issue 9); it returns the entry.
   */
  add(room, text, { now = Date.now(), id = newClientMsgId(), replyTo, files = [] } = {}) {
    const entry = { clientMsgId: id, room, text, replyTo: validReplyTo(replyTo), createdAt: now, state: 'pending' };
    if (files.length) entry.files = files;
    this.load();
    this.entries.push(entry);
    if (this.entries.length > MAX_ENTRIES) this.entries.splice(0, this.entries.length - MAX_ENTRIES);
    this.save();
    return entry;
  }

  get(clientMsgId) { return this.entries.find((e) => e.clientMsgId === clientMsgId); }
  has(clientMsgId) { return !!this.get(clientMsgId); }

  /** remove drops an entry (acked, seen in the room, or discarded). */
  remove(clientMsgId) {
    this.load();
    const n = this.entries.length;
    this.entries = this.entries.filter((e) => e.clientMsgId !== clientMsgId);
    if (this.entries.length !== n) {
      this.save();
      return true;
    }
    return false;
  }

  /** update changes an entry's state or error. */
  update(clientMsgId, patch) {
    this.load();
    const e = this.get(clientMsgId);
    if (!e) return undefined;
    Object.assign(e, patch);
    this.save();
    return e;
  }

  /** list returns the entries of a room (or all), oldest first. */
  list(room) { return room === undefined ? this.entries.slice() : this.entries.filter((e) => e.room === room); }

  /** pending returns the entries to send, oldest first. */
  pending() { return this.entries.filter((e) => e.state === 'pending'); }

  /** removeRoom drops every entry of a room the user left. */
  removeRoom(room) {
    this.load();
    const n = this.entries.length;
    this.entries = this.entries.filter((e) => e.room !== room);
    if (n !== this.entries.length) this.save();
  }

  /** clear drops everything (logout). */
  clear() {
    this.entries = [];
    this.save();
  }
}

// validReplyTo keeps a reply's thread seq, and drops anything else (a
// corrupt or hand-edited entry is then sent as an ordinary message rather
// than refused forever). JSON leaves the undefined out.
function validReplyTo(v) {
  return Number.isInteger(v) && v > 0 ? v : undefined;
}

/** sendPayload is the send_message payload of an outbox entry (a reply carries reply_to, files their ids). */
export function sendPayload(e) {
  const p = { room: e.room, text: e.text, client_msg_id: e.clientMsgId };
  if (e.replyTo > 0) p.reply_to = e.replyTo;
  if (Array.isArray(e.files) && e.files.length) p.attachments = e.files.map((f) => f.id);
  return p;
}

/**
 * classifySendError says what to do with an outbox entry whose send failed:
 * 'retry' keeps it pending (the server may take it later), 'fail' shows it
 * as not sent and lets the user retry or discard it.
 */
export function classifySendError(code) {
  switch (code) {
    case 'disconnected': case 'rate_limited': case 'unavailable': case 'internal': case 'timeout':
      return 'retry';
    default:
      return 'fail';
  }
}
