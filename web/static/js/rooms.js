// Rooms: which one is shown, and fetching their messages: the newest page
// when a room is opened, older pages as the user scrolls up, what was
// missed while disconnected (PROTOCOL.md §6), and who is online.

import { state, getStore, upsertRoom, dropRoom, applyWho, noteReplies } from './state.js';
import { afterLeaving } from './roominfo.js';
import { conn, connected } from './client.js';
import { catchUp, gapFillQuery } from './sync.js';
import { isDM, errorText } from './format.js';
import { scheduleRender } from './render.js';
import { scheduleMarkRead } from './read.js';
import { settleOutboxFrom } from './send.js';
import { setComposerError, setSideStatus } from './notices.js';
import { saveDraft, restoreDraft } from './composer.js';
import { closeDrawer, isNarrow } from './drawer.js';
import { $ } from './dom.js';
import { stickToBottom } from './view-messages.js';
import { renderUploads } from './upload.js';

const PAGE = 50;
const WHO_REFRESH_MS = 30000;

let whoTimer = null;

// Preferences per user in localStorage (the room last shown).
export function readPref(name) {
  try {
    return state.me ? window.localStorage.getItem(`chatd.${name}.${state.me.id}`) : null;
  } catch {
    return null;
  }
}

function writePref(name, value) {
  try {
    if (state.me) window.localStorage.setItem(`chatd.${name}.${state.me.id}`, value);
  } catch {
    // Storage unavailable: the preference lasts for this page only.
  }
}

/** setCurrent shows a room (or none); quiet keeps the composer's error. */
export function setCurrent(name, { quiet = false } = {}) {
  if (state.current === name) return;
  // Keep the draft of the room we leave.
  if (state.current) saveDraft(state.current);
  if (state.current && state.rooms.has(state.current)) state.previous = state.current;
  state.current = name;
  // A thread belongs to its room, as in other chat apps: another room closes it.
  if (state.thread && state.thread.room !== name) state.thread = null;
  if ($('room-dialog').open) $('room-dialog').close(); // it shows the room that was current
  state.editing = null;
  state.confirmDelete = null;
  state.loadingOlder = false;
  state.historyNote = '';
  state.lastTypingSent = 0;
  restoreDraft(name);
  if (!quiet) setComposerError('');
  if (name) writePref('room', name);
  scheduleRender({ sidebar: true, header: true, messages: true, typing: true, thread: true });
  renderUploads(); // the tray shows the uploads of the room shown
}

/** openRoom shows a room the user is in and fetches what it needs. */
export function openRoom(name, { focus = true } = {}) {
  if (!state.rooms.has(name)) return;
  setCurrent(name);
  const store = getStore(name);
  if (!store.loaded && !store.loading) loadLatest(name);
  refreshWho(name);
  clearInterval(whoTimer);
  whoTimer = setInterval(() => { if (state.current) refreshWho(state.current); }, WHO_REFRESH_MS);
  scheduleMarkRead(name);
  closeDrawer();
  if (focus && !isNarrow()) $('composer').focus();
}

/** forgetRoom drops a room the user left (here or on another tab). */
export function forgetRoom(name, announceIt) {
  dropRoom(name);
  if (announceIt) setSideStatus(`You left ${isDM(name) ? 'the conversation' : `#${name}`}.`, 'ok');
  if (state.current === name) {
    const next = afterLeaving(name, state.previous, [...state.rooms.keys()]);
    if (next) openRoom(next, { focus: false });
    else setCurrent(null);
  }
  scheduleRender({ sidebar: true });
}

/** addJoined records a room just joined, created or opened, and shows it. */
export function addJoined(room) {
  if (!room || !room.name) return;
  const existing = state.stores.get(room.name);
  upsertRoom(room);
  if (existing && existing.loaded) recoverRoom(room.name, room.last_seq || 0);
  openRoom(room.name);
  scheduleRender({ sidebar: true });
}

/** loadLatest fetches the newest page of a room. */
export async function loadLatest(name) {
  if (!connected()) return;
  const store = getStore(name);
  store.loading = true;
  if (name === state.current) state.historyNote = 'Loading messages…';
  try {
    const res = await conn.request('history', { room: name, limit: PAGE });
    if (state.stores.get(name) !== store) return;
    store.insertMany(res.messages || []);
    settleOutboxFrom(res.messages);
    store.loaded = true;
    store.reachedStart = !res.has_more;
    if (name === state.current) stickToBottom();
  } catch (err) {
    if (name === state.current && err.code !== 'disconnected') state.historyNote = `Could not load messages: ${errorText(err)}`;
  } finally {
    store.loading = false;
    scheduleRender({ messages: true, sidebar: true });
    scheduleMarkRead(name);
  }
}

/** loadOlder fetches the page before the oldest message of the room shown. */
export async function loadOlder() {
  const name = state.current;
  const store = name && state.stores.get(name);
  if (!store || !store.loaded || store.reachedStart || state.loadingOlder || !connected()) return;
  if (!store.size) { store.reachedStart = true; return; }
  state.loadingOlder = true;
  scheduleRender({ messages: true });
  try {
    const res = await conn.request('history', { room: name, before_seq: store.oldestSeq, limit: PAGE });
    if (state.stores.get(name) !== store) return;
    store.insertMany(res.messages || []);
    settleOutboxFrom(res.messages);
    if (!res.has_more || !(res.messages || []).length) store.reachedStart = true;
  } catch (err) {
    if (err.code !== 'disconnected') state.historyNote = `Could not load older messages: ${errorText(err)}`;
  } finally {
    state.loadingOlder = false;
    scheduleRender({ messages: true });
  }
}

/** fillGap fetches the messages of a gap the user asked for. */
export async function fillGap(gap) {
  const name = state.current;
  const store = name && state.stores.get(name);
  if (!store || !connected() || store.fillingGap) return;
  store.fillingGap = true;
  scheduleRender({ messages: true });
  try {
    const res = await conn.request('history', { room: name, ...gapFillQuery(gap) });
    const msgs = res.messages || [];
    store.insertMany(msgs);
    settleOutboxFrom(msgs);
    const inside = msgs.filter((m) => m.seq >= gap.from && m.seq <= gap.to);
    if (!inside.length || !res.has_more) {
      // Nothing more there: whatever remains of this gap is not a gap.
      for (const g of store.gaps.slice()) if (g.from >= gap.from && g.to <= gap.to) store.closeGap(g);
    }
  } catch (err) {
    if (err.code !== 'disconnected') state.historyNote = `Could not load missed messages: ${errorText(err)}`;
  } finally {
    store.fillingGap = false;
    scheduleRender({ messages: true });
  }
}

// recoverRoom fetches what a loaded room missed while disconnected (§6).
export async function recoverRoom(name, cursor) {
  const store = state.stores.get(name);
  if (!store || !conn) return;
  const lastSeen = store.newestSeq;
  if (!(cursor > lastSeen)) return;
  // Mark the whole missed range first: pages shrink it, and if this fails
  // half way the rest stays visible as a gap instead of a silent hole.
  store.markGap(lastSeen + 1, cursor);
  store.syncing = (store.syncing || 0) + 1;
  scheduleRender({ messages: name === state.current });
  try {
    await catchUp({
      lastSeen,
      cursor,
      fetchPage: (q) => conn.request('history', { room: name, ...q }),
      onPage: (msgs) => {
        if (state.stores.get(name) !== store) return;
        store.insertMany(msgs);
        noteReplies(msgs); // replies missed while away count in their threads
        settleOutboxFrom(msgs);
        if (name === state.current) scheduleRender({ messages: true });
      },
    });
  } catch {
    // Disconnected again: the next welcome or the gap button continues.
  } finally {
    store.syncing -= 1;
    scheduleRender({ messages: name === state.current, sidebar: true });
    scheduleMarkRead(name);
  }
}

/** refreshWho asks who is online in a room. */
export async function refreshWho(name) {
  if (!connected() || !name) return;
  try {
    const r = await conn.request('who', { room: name, limit: 100 });
    applyWho(name, r);
    scheduleRender({ header: name === state.current, sidebar: isDM(name) });
  } catch {
    // Presence is best effort; the next refresh tries again.
  }
}

export function resetRooms() {
  clearInterval(whoTimer);
  whoTimer = null;
}
