// Package-like module: the messages of one room, kept in seq order.
//
// No DOM here: app.js renders what this holds. A room's seqs are 1, 2, 3, ...
// with no gap on the server (PROTOCOL.md §6), so a hole between two loaded
// seqs is exactly a range of messages we have not fetched. Holes the client
// chose not to fill (a very long outage) are kept as explicit gaps so the UI
// can show them; they shrink as messages inside them are inserted.

/** Result of RoomStore.insert. */
export const ADDED = 'added';
export const UPDATED = 'updated';
export const DUPLICATE = 'duplicate';

function editedTime(m) {
  return m && m.edited_at ? Date.parse(m.edited_at) || 0 : 0;
}

/**
 * isNewer reports whether b is a later version of the same message than a:
 * a deletion wins over anything, then a later edit.
 */
export function isNewer(a, b) {
  if (b.deleted && !a.deleted) return true;
  if (a.deleted) return false;
  return editedTime(b) > editedTime(a);
}

// adoptSummaries takes a thread summary and reactions that a page brings
// for a message already held: a history page is their authority (events
// may have been missed), while live messages carry neither and change
// nothing. It reports a change.
function adoptSummaries(have, msg) {
  let changed = false;
  for (const k of ['replies', 'reactions']) {
    if (msg[k] !== undefined && JSON.stringify(msg[k]) !== JSON.stringify(have[k])) {
      have[k] = msg[k];
      changed = true;
    }
  }
  return changed;
}

export class RoomStore {
  constructor(room) {
    this.room = room;
    /** @type {object[]} ascending by seq, no two with the same seq */
    this.messages = [];
    this.bySeq = new Map();
    /** @type {{from:number,to:number}[]} missing seq ranges (inclusive) the UI shows */
    this.gaps = [];
    // loaded: the store holds a contiguous run that ends at the newest
    // message known when it was filled (a newest page or a catch-up), so
    // newestSeq is "last seen" for reconnect recovery.
    this.loaded = false;
    // reachedStart: nothing older than oldestSeq exists.
    this.reachedStart = false;
    this.version = 0; // bumped on every change; lets the renderer skip work
  }

  get size() { return this.messages.length; }
  get oldestSeq() { return this.messages.length ? this.messages[0].seq : 0; }
  get newestSeq() { return this.messages.length ? this.messages[this.messages.length - 1].seq : 0; }
  get(seq) { return this.bySeq.get(seq); }

  /** findByClientMsgId returns the stored message sent with that id, if any. */
  findByClientMsgId(id) {
    if (!id) return undefined;
    for (let i = this.messages.length - 1; i >= 0; i--) {
      if (this.messages[i].client_msg_id === id) return this.messages[i];
    }
    return undefined;
  }

  /**
   * insert adds a message in seq order, deduplicating by seq. A message
   * already held is replaced only by a newer version of it (edit, delete).
   */
  insert(msg) {
    if (!msg || msg.room !== this.room || !Number.isInteger(msg.seq) || msg.seq < 1) return DUPLICATE;
    const have = this.bySeq.get(msg.seq);
    if (have) {
      if (!isNewer(have, msg)) {
        if (!adoptSummaries(have, msg)) return DUPLICATE;
        this.version++;
        return UPDATED;
      }
      Object.assign(have, msg);
      if (have.deleted) delete have.reactions; // a deleted message shows none
      this.version++;
      return UPDATED;
    }
    const m = { ...msg };
    const list = this.messages;
    if (!list.length || list[list.length - 1].seq < m.seq) {
      list.push(m); // the common case: live messages arrive in order
    } else {
      list.splice(this.indexAtOrAfter(m.seq), 0, m);
    }
    this.bySeq.set(m.seq, m);
    this.shrinkGaps(m.seq);
    this.version++;
    return ADDED;
  }

  /** insertMany inserts a page; it returns how many were new. */
  insertMany(msgs) {
    let added = 0;
    for (const m of msgs || []) if (this.insert(m) === ADDED) added++;
    return added;
  }

  /** update applies a message_updated event to a message we hold. */
  update(msg) {
    const have = this.bySeq.get(msg.seq);
    if (!have) return false;
    Object.assign(have, msg);
    this.version++;
    return true;
  }

  /** markDeleted applies a message_deleted event. */
  markDeleted(seq) {
    const have = this.bySeq.get(seq);
    if (!have) return false;
    have.deleted = true;
    have.text = '';
    delete have.reactions;
    this.version++;
    return true;
  }

  /** markGap records that seqs from..to (inclusive) are missing on purpose. */
  markGap(from, to) {
    if (!(to >= from)) return;
    // Split the range around messages already held inside it.
    let start = from;
    for (let i = this.indexAtOrAfter(from); i < this.messages.length && this.messages[i].seq <= to; i++) {
      const seq = this.messages[i].seq;
      if (seq > start) this.gaps.push({ from: start, to: seq - 1 });
      start = seq + 1;
    }
    if (start <= to) this.gaps.push({ from: start, to });
    this.gaps.sort((a, b) => a.from - b.from);
    // Merge overlapping or touching gaps.
    const merged = [];
    for (const g of this.gaps) {
      const last = merged[merged.length - 1];
      if (last && g.from <= last.to + 1) last.to = Math.max(last.to, g.to);
      else merged.push({ ...g });
    }
    this.gaps = merged;
    this.normalizeGaps();
    this.version++;
  }

  /** indexAtOrAfter is the index of the first message with seq >= seq. */
  indexAtOrAfter(seq) {
    let lo = 0, hi = this.messages.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.messages[mid].seq < seq) lo = mid + 1; else hi = mid;
    }
    return lo;
  }

  /** closeGap forgets a gap (e.g. the server had nothing in it). */
  closeGap(gap) {
    const i = this.gaps.findIndex((g) => g.from === gap.from && g.to === gap.to);
    if (i >= 0) {
      this.gaps.splice(i, 1);
      this.version++;
    }
  }

  shrinkGaps(seq) {
    const out = [];
    for (const g of this.gaps) {
      if (seq < g.from || seq > g.to) { out.push(g); continue; }
      out.push({ from: g.from, to: seq - 1 }, { from: seq + 1, to: g.to });
    }
    this.gaps = out;
    this.normalizeGaps();
  }

  normalizeGaps() {
    const out = [];
    for (let { from, to } of this.gaps) {
      while (from <= to && this.bySeq.has(from)) from++;
      while (to >= from && this.bySeq.has(to)) to--;
      if (from <= to) out.push({ from, to });
    }
    this.gaps = out;
  }

  /**
   * items returns the messages in order with each gap placed where it
   * belongs: {kind:'message', message} and {kind:'gap', gap}.
   */
  items() {
    const out = [];
    let gi = 0;
    const gaps = this.gaps;
    for (const m of this.messages) {
      while (gi < gaps.length && gaps[gi].to < m.seq) out.push({ kind: 'gap', gap: gaps[gi++] });
      out.push({ kind: 'message', message: m });
    }
    while (gi < gaps.length) out.push({ kind: 'gap', gap: gaps[gi++] });
    return out;
  }

  /** clear forgets everything (e.g. after leaving the room). */
  clear() {
    this.messages = [];
    this.bySeq.clear();
    this.gaps = [];
    this.loaded = false;
    this.reachedStart = false;
    this.version++;
  }
}

/**
 * countUnread counts messages after marker that others sent and that are not
 * deleted — the server's definition of unread (chat.Store).
 */
export function countUnread(store, marker, myId) {
  let n = 0;
  for (let i = store.messages.length - 1; i >= 0; i--) {
    const m = store.messages[i];
    if (m.seq <= marker) break;
    if (!m.deleted && (!m.from || m.from.id !== myId)) n++;
  }
  return n;
}
