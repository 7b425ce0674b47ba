// Search: the panel that Ctrl+K (Cmd+K) or the Search button opens, the
// `search` requests and their pages, and jumping to a result: its room is
// opened with the history around the message loaded, and the message is
// scrolled into view and flashed.

import { state, getStore } from './state.js';
import { conn, connected } from './client.js';
import { errorText } from './format.js';
import { searchRequest } from './snippet.js';
import { openRoom, loadLatest } from './rooms.js';
import { scheduleRender } from './render.js';
import { renderSearch } from './view-search.js';
import { revealMessage } from './view-messages.js';
import { $ } from './dom.js';

/** AROUND: messages fetched on each side of a result. */
const AROUND = 25;

let returnFocus = null;
let searchGen = 0; // the newest search: answers to older ones are dropped

function fresh() {
  return { results: [], cursor: '', loading: false, status: '', payload: null };
}

/** openSearch shows the panel and puts the caret in its box. */
export function openSearch() {
  if (!state.me) return;
  if (!state.search) {
    returnFocus = document.activeElement;
    state.search = fresh();
  }
  renderSearch();
  const input = $('search-input');
  input.focus();
  input.select();
}

/** closeSearch hides the panel; focus goes back where it was unless told otherwise. */
export function closeSearch({ restoreFocus = true } = {}) {
  if (!state.search) return;
  state.search = null;
  searchGen++;
  renderSearch();
  const back = returnFocus;
  returnFocus = null;
  if (restoreFocus && back && back.isConnected && back !== document.body) back.focus();
  else if (restoreFocus) $('composer').focus();
}

/** runSearch sends the form's search (more: the next page of the last one). */
export async function runSearch({ more = false } = {}) {
  const s = state.search;
  if (!s) return;
  let payload;
  if (more) {
    if (!s.cursor || !s.payload) return;
    payload = { ...s.payload, cursor: s.cursor };
  } else {
    const r = searchRequest({
      query: $('search-input').value,
      room: $('search-this-room').checked ? state.current : '',
      from: $('search-from').value,
    });
    if (r.error) {
      s.status = r.error;
      renderSearch();
      return;
    }
    payload = r.payload;
    s.payload = payload;
    s.results = [];
    s.cursor = '';
  }
  if (!connected()) {
    s.status = 'Not connected. Search again when the connection returns.';
    renderSearch();
    return;
  }
  const gen = ++searchGen;
  s.loading = true;
  s.status = 'Searching…';
  renderSearch();
  try {
    const ack = await conn.request('search', payload);
    if (gen !== searchGen || state.search !== s) return;
    s.results = s.results.concat(ack.results || []);
    s.cursor = ack.cursor || '';
    const n = s.results.length;
    s.status = n === 0 ? 'No messages found.' : `${n}${s.cursor ? '+' : ''} message${n === 1 ? '' : 's'} found.`;
  } catch (err) {
    if (gen !== searchGen || state.search !== s) return;
    s.status = `Search failed: ${errorText(err)}`;
  } finally {
    if (state.search === s) {
      s.loading = false;
      renderSearch();
    }
  }
}

function sleep(ms) { return new Promise((r) => setTimeout(r, ms)); }

/**
 * jumpTo shows message seq of room: the room opens, the messages around
 * seq are fetched if they are not held (a gap marks what lies between
 * them and the newest page), and the message is brought into view.
 */
export async function jumpTo(room, seq) {
  closeSearch({ restoreFocus: false });
  if (!state.rooms.has(room)) return;
  openRoom(room, { focus: false });
  const store = getStore(room);
  if (!store.loaded && !store.loading) await loadLatest(room);
  for (let i = 0; store.loading && i < 200; i++) await sleep(50);
  if (state.stores.get(room) !== store || !connected()) return;
  if (!store.get(seq)) {
    try {
      const [before, after] = await Promise.all([
        conn.request('history', { room, before_seq: seq + 1, limit: AROUND }),
        conn.request('history', { room, after_seq: seq, limit: AROUND }),
      ]);
      if (state.stores.get(room) !== store) return;
      const msgs = [...(before.messages || []), ...(after.messages || [])];
      const oldest = store.oldestSeq;
      const newest = msgs.reduce((n, m) => Math.max(n, m.seq), 0);
      const held = store.size > 0;
      store.insertMany(msgs);
      // What lies between the window and the messages already held is a
      // gap the list offers to fill, as after a long disconnection.
      if (held && newest && newest < oldest - 1) store.markGap(newest + 1, oldest - 1);
      if (!before.has_more && msgs.length && msgs[0].seq === store.oldestSeq) store.reachedStart = true;
    } catch {
      // The room is open; the message is not shown. The search can be run again.
    }
  }
  if (state.current !== room) return;
  revealMessage(room, seq);
  scheduleRender({ messages: true });
  const li = () => document.querySelector(`#messages li.msg[data-seq="${seq}"]`);
  // Keyboard users land on the message they picked.
  setTimeout(() => {
    const el = li();
    if (el) {
      if (!el.hasAttribute('tabindex')) el.tabIndex = -1;
      el.focus({ preventScroll: true });
    }
  }, 50);
}

/** resetFind forgets the search, on sign-out. */
export function resetFind() {
  state.search = null;
  searchGen++;
  returnFocus = null;
}
