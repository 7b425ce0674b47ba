// chatd web app: the DOM side. The pure logic lives beside it (store.js,
// outbox.js, backoff.js, sync.js, format.js, conn.js) and is unit-tested
// with `node --test web/jstest/`.
//
// Every piece of user content goes into the page with textContent or as an
// attribute value, never as HTML. The page runs under a strict CSP: no inline
// scripts or styles (el.style via CSSOM only).
//
// Stable selectors for browser tests
// ----------------------------------
// Auth screen (#auth-view):
//   #login-username, #login-password  inputs
//   #login-submit                     "Sign in" (submit; Enter in a field does the same)
//   #register-submit                  "Create account"
//   #auth-error                       inline error (role=alert), hidden when empty
// App (#app-view, shown once signed in):
//   #conn-state[data-state]           connecting | online | offline | stopped; #conn-text;
//                                     #reconnect-now ("Retry now", while offline)
//   #room-list  button.room-btn[data-room="<name>"][data-unread="<n>"]  rooms (not DMs);
//               the current one has aria-current="page"; .badge holds the unread count
//   #dm-list    button.room-btn[data-room="dm:a:b"][data-user="<peer>"]  direct messages
//   #join-room-input + #join-room-submit          join a public room by name
//   #create-room-name + #create-room-private (checkbox) + #create-room-submit
//   #invite-form (shown for a private, non-DM current room): #invite-user + #invite-submit
//   #dm-user + #dm-submit                         "New message to <username>" (open_dm)
//   #side-status                                  result/error of the forms above (.error / .ok)
//   #room-name                                    current room's label; #leave-room
//   #online-count ("3 online"), #online-list span[data-user="<username>"]
//   #messages   li.msg[data-seq][data-id][data-author]  (.own for mine, .deleted, .cont)
//               each with .author, time.time, .text, .edited ("(edited)") when edited;
//               own messages: button.msg-edit, button.msg-delete -> button.msg-delete-confirm /
//               .msg-delete-cancel; while editing: textarea.edit-input, .msg-edit-save,
//               .msg-edit-cancel, .edit-error
//               li.day-sep[data-day] day separators; li.gap-sep > button.gap-btn missed messages
//   #pending-list li.msg.pending[data-client-msg-id] (not yet acked; .failed with
//               button.pending-retry / button.pending-discard)
//   #history-status  "Loading…" / "This is the start of #room"; #empty-room
//   #typing     "alice is typing…"
//   #composer (textarea), #send, #char-count (shown from 3500 chars; .over past 4000),
//   #composer-error (role=alert)
//   #jump-latest  "New messages ↓" when scrolled up
//   #me-name, #logout
//   #sidebar-toggle  opens the rooms drawer below 720 px wide (the sidebar is always shown above)
//   #live-region  aria-live announcements of new messages
// document.title is "(N) chatd" with N the total unread count.

import { RoomStore, ADDED, UPDATED, countUnread } from './store.js';
import { Outbox, classifySendError } from './outbox.js';
import { catchUp, gapFillQuery } from './sync.js';
import { Connection } from './conn.js';
import { backoffDelay } from './backoff.js';
import {
  MAX_TEXT_CHARS, counterState, isBlank, charCount, dayKey, dayLabel, timeLabel, fullTimeLabel,
  isDM, dmPeer, roomLabel, typingText, titleFor, colorIndex, initials, groupsWith,
  USERNAME_RE, normalizeRoomName, errorText, fitsFrame, DEFAULT_MAX_FRAME_BYTES,
} from './format.js';

const $ = (id) => document.getElementById(id);

const TYPING_SEND_EVERY_MS = 3000;
const TYPING_SHOW_MS = 5000;
const WHO_REFRESH_MS = 30000;
const PAGE = 50;
const NEAR_BOTTOM_PX = 80;
const LOAD_OLDER_PX = 400;

// ---------------------------------------------------------------- state

const state = {
  me: null,
  rooms: new Map(), // name -> {name, private, lastSeq, unread, readSeq, membersOnline}
  stores: new Map(), // name -> RoomStore
  current: null,
  maxChars: MAX_TEXT_CHARS,
  maxFrameBytes: DEFAULT_MAX_FRAME_BYTES,
  outbox: null,
  inflight: new Set(), // client_msg_ids being sent on this connection
  flushing: false,
  flushTimer: null,
  flushAttempt: 0,
  presence: new Map(), // room -> {count, users: Map(id -> user)}
  peerOnline: new Map(), // lower-case username -> bool (DM dots)
  typing: new Map(), // room -> Map(username -> timer)
  lastTypingSent: 0,
  drafts: new Map(),
  editing: null, // {room, seq, draft, error, saving}
  confirmDelete: null, // {room, seq}
  loadingOlder: false,
  msgEls: new Map(), // seq -> li, for the current room
  sepEls: new Map(),
  gapEls: new Map(),
  roomEls: new Map(), // name -> li
  markTimers: new Map(),
  whoTimer: null,
  connTicker: null,
  renderQueued: false,
  renderFlags: { sidebar: false, messages: false, header: false },
  forceBottom: false,
  publicRoomsAt: 0,
  welcomed: false,
};

let conn = null;

// ---------------------------------------------------------------- boot

boot();

async function boot() {
  wireStaticHandlers();
  // The session cookie is HttpOnly, so the page cannot see it. A hint in
  // localStorage says whether this browser signed in; without it, go
  // straight to the sign-in form instead of asking /api/me for a 401
  // (which the browser would log as a console error).
  if (!signedInHint()) return showAuth();
  let attempt = 0;
  for (;;) {
    const r = await fetchMe();
    if (r.status === 'ok') return startApp(r.user);
    if (r.status === 'unauthorized') return showAuth();
    $('boot-text').textContent = 'Cannot reach chatd. Retrying…';
    await sleep(backoffDelay(attempt++));
  }
}

async function fetchMe() {
  try {
    const res = await fetch('/api/me', { credentials: 'same-origin', cache: 'no-store', headers: { Accept: 'application/json' } });
    if (res.status === 401) return { status: 'unauthorized' };
    if (!res.ok) return { status: 'unreachable' };
    const body = await res.json();
    return body && body.user ? { status: 'ok', user: body.user } : { status: 'unreachable' };
  } catch {
    return { status: 'unreachable' };
  }
}

function signedInHint() {
  try {
    return window.localStorage.getItem('chatd.signedIn') === '1';
  } catch {
    return true; // no storage: ask the server
  }
}

function setSignedInHint(on) {
  try {
    if (on) window.localStorage.setItem('chatd.signedIn', '1');
    else window.localStorage.removeItem('chatd.signedIn');
  } catch {
    // Storage unavailable: boot asks the server every time.
  }
}

function sleep(ms) { return new Promise((r) => setTimeout(r, ms)); }

// ---------------------------------------------------------------- auth

function showAuth(message) {
  setSignedInHint(false);
  $('boot').hidden = true;
  $('app-view').hidden = true;
  $('auth-view').hidden = false;
  $('skip-link').hidden = true; // it leads to the composer, which is not shown
  document.title = 'Sign in · chatd';
  setAuthError(message || '');
  setAuthBusy(false);
  const u = $('login-username');
  (u.value ? $('login-password') : u).focus();
}

function setAuthError(text, field) {
  const el = $('auth-error');
  el.textContent = text;
  el.hidden = !text;
  for (const id of ['login-username', 'login-password']) $(id).removeAttribute('aria-invalid');
  if (field) {
    $(field).setAttribute('aria-invalid', 'true');
    $(field).focus();
  }
}

function setAuthBusy(busy) {
  $('login-submit').disabled = busy;
  $('register-submit').disabled = busy;
}

async function doAuth(kind) {
  const username = $('login-username').value.trim();
  const password = $('login-password').value;
  if (!USERNAME_RE.test(username)) {
    setAuthError(username ? 'Usernames are 3–32 letters, digits, “_”, “.” or “-”.' : 'Enter your username.', 'login-username');
    return;
  }
  if (kind === 'register' && password.length < 8) {
    setAuthError('Choose a password of at least 8 characters.', 'login-password');
    return;
  }
  if (!password) {
    setAuthError('Enter your password.', 'login-password');
    return;
  }
  setAuthError('');
  setAuthBusy(true);
  let res;
  let body = null;
  try {
    res = await fetch(`/api/${kind}`, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
      body: JSON.stringify({ username, password }),
    });
    try { body = await res.json(); } catch { body = null; }
  } catch {
    setAuthBusy(false);
    setAuthError('Cannot reach the server. Check your connection and try again.');
    return;
  }
  setAuthBusy(false);
  if (res.ok && body && body.user) {
    $('login-password').value = '';
    startApp(body.user);
    return;
  }
  const serverMsg = body && body.error && body.error.message;
  switch (res.status) {
    case 401: setAuthError('Wrong username or password.', 'login-password'); break;
    case 409: setAuthError(`The username “${username}” is taken. Pick another, or sign in.`, 'login-username'); break;
    case 429: setAuthError('Too many attempts. Wait a minute, then try again.'); break;
    case 400: setAuthError(serverMsg ? capitalize(serverMsg) : 'Check your username and password.'); break;
    default: setAuthError(serverMsg ? capitalize(serverMsg) : `The server answered ${res.status}. Try again.`);
  }
}

function capitalize(s) {
  s = String(s);
  const out = s.charAt(0).toUpperCase() + s.slice(1);
  return /[.!?]$/.test(out) ? out : `${out}.`;
}

async function logout() {
  $('logout').disabled = true;
  try {
    await fetch('/api/logout', { method: 'POST', credentials: 'same-origin' });
  } catch {
    // Offline: the cookie stays, but this page forgets the session anyway.
  }
  $('logout').disabled = false;
  if (conn) conn.stop();
  resetState();
  showAuth('');
}

// ---------------------------------------------------------------- app start and reset

function startApp(user) {
  resetState();
  setSignedInHint(true);
  state.me = user;
  state.outbox = new Outbox(safeStorage(), `chatd.outbox.${user.id}`);
  $('boot').hidden = true;
  $('auth-view').hidden = true;
  $('app-view').hidden = false;
  $('skip-link').hidden = false;
  renderMe();
  conn = new Connection({
    url: () => `${location.protocol === 'https:' ? 'wss:' : 'ws:'}//${location.host}/ws`,
    WebSocket: window.WebSocket,
    checkSession: async () => {
      const r = await fetchMe();
      return r.status;
    },
    onState: renderConn,
    onWelcome: handleWelcome,
    onEvent: handleEvent,
    onUnauthorized: () => {
      resetState();
      showAuth('Your session has ended. Please sign in again.');
    },
  });
  conn.start();
  // Show what is pending from before a reload right away.
  const saved = readPref('room');
  if (saved) setCurrent(saved, { quiet: true });
  scheduleRender({ sidebar: true, header: true, messages: true });
}

function resetState() {
  if (conn) conn.stop();
  conn = null;
  for (const t of state.markTimers.values()) clearTimeout(t);
  for (const m of state.typing.values()) for (const t of m.values()) clearTimeout(t);
  clearTimeout(state.flushTimer);
  clearInterval(state.whoTimer);
  clearInterval(state.connTicker);
  Object.assign(state, {
    me: null, rooms: new Map(), stores: new Map(), current: null, maxChars: MAX_TEXT_CHARS,
    outbox: null, inflight: new Set(), flushing: false, flushTimer: null, flushAttempt: 0,
    presence: new Map(), peerOnline: new Map(), typing: new Map(), lastTypingSent: 0,
    drafts: new Map(), editing: null, confirmDelete: null, loadingOlder: false,
    msgEls: new Map(), sepEls: new Map(), gapEls: new Map(), roomEls: new Map(),
    markTimers: new Map(), whoTimer: null, connTicker: null, welcomed: false, publicRoomsAt: 0,
  });
  for (const id of ['room-list', 'dm-list', 'messages', 'pending-list', 'public-rooms', 'online-list']) $(id).replaceChildren();
  $('composer').value = '';
  $('typing').textContent = '';
  $('side-status').textContent = '';
  setComposerError('');
  document.title = 'chatd';
}

function safeStorage() {
  try {
    const s = window.localStorage;
    s.getItem('chatd.probe');
    return s;
  } catch {
    return null;
  }
}

function readPref(name) {
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

// ---------------------------------------------------------------- connection events

function handleWelcome(w) {
  if (w.user && state.me && w.user.id !== state.me.id) {
    // Another tab signed in as someone else (the cookie is shared): follow it.
    const user = w.user;
    startApp(user);
    return;
  }
  if (w.user) state.me = w.user;
  if (w.limits && w.limits.max_text_chars > 0) state.maxChars = w.limits.max_text_chars;
  if (w.limits && w.limits.max_frame_bytes > 0) state.maxFrameBytes = w.limits.max_frame_bytes;
  state.welcomed = true;
  state.inflight.clear();
  state.lastTypingSent = 0;

  const rooms = (w.rooms || []).filter((r) => r && r.name && r.joined !== false);
  const names = new Set(rooms.map((r) => r.name));
  for (const r of rooms) upsertRoom(r);
  // Rooms left on another tab while this one was offline.
  for (const name of [...state.rooms.keys()]) if (!names.has(name)) forgetRoom(name);
  for (const r of rooms) {
    const info = state.rooms.get(r.name);
    const store = state.stores.get(r.name);
    if (!store) continue;
    if (!store.loaded) {
      // Never shown completely: drop it; opening the room loads the newest page.
      store.clear();
      continue;
    }
    recoverRoom(r.name, info.lastSeq);
  }

  let want = state.current;
  if (!want || !state.rooms.has(want)) want = readPref('room');
  if (!want || !state.rooms.has(want)) want = w.current_room;
  if (!want || !state.rooms.has(want)) want = state.rooms.has('general') ? 'general' : firstRoom();
  // On the first welcome a keyboard user lands in the composer, unless
  // something else has focus or the screen is a phone (the keyboard would
  // pop up over the messages).
  const focusComposer = !state.welcomedOnce && document.activeElement === document.body &&
    window.matchMedia('(min-width: 720px)').matches;
  state.welcomedOnce = true;
  if (want) openRoom(want, { focus: focusComposer });
  else setCurrent(null);

  flushOutbox();
  refreshPublicRooms();
  scheduleRender({ sidebar: true, header: true, messages: true });
}

function firstRoom() {
  const names = [...state.rooms.keys()].sort();
  return names.find((n) => !isDM(n)) || names[0] || null;
}

function handleEvent(type, p) {
  switch (type) {
    case 'new_message': return onNewMessage(p);
    case 'message_updated': return onMessageUpdated(p);
    case 'message_deleted': return onMessageDeleted(p);
    case 'presence': return onPresence(p);
    case 'typing': return onTyping(p);
    case 'read_marker': return onReadMarker(p);
    case 'room_added': return onRoomAdded(p);
    case 'room_removed': {
      const name = p && (typeof p.room === 'string' ? p.room : (p.room && p.room.name) || p.name);
      return name && state.rooms.has(name) && forgetRoom(name, true);
    }
    case 'error': return onUnsolicitedError(p);
    default: return undefined; // late acks of timed-out requests, future events
  }
}

function onNewMessage(m) {
  if (!m || !m.room || !state.rooms.has(m.room)) return;
  const room = state.rooms.get(m.room);
  room.lastSeq = Math.max(room.lastSeq, m.seq);
  const mine = isMine(m);
  if (mine && m.client_msg_id) settleOutbox(m.client_msg_id);
  const store = state.stores.get(m.room);
  // A store that is not loaded holds nothing yet; the newest page will
  // bring this message when the room is opened.
  if (store && (store.loaded || store.loading)) store.insert(m);
  clearTyping(m.room, m.from && m.from.username);

  if (!mine && !m.deleted && m.seq > room.readSeq) {
    // Read only if it can be seen: not while the user is scrolled up in
    // history (the jump button and the badge tell them it is there).
    if (m.room === state.current && viewing() && store && store.loaded && isNearBottom()) scheduleMarkRead(m.room);
    else room.unread += 1;
  }
  if (!mine) announce(m);
  if (m.room === state.current) {
    if (!mine && !isNearBottom()) $('jump-latest').hidden = false;
    scheduleRender({ messages: true, sidebar: true });
  } else {
    scheduleRender({ sidebar: true });
  }
}

function onMessageUpdated(m) {
  if (!m || !m.room) return;
  const store = state.stores.get(m.room);
  // Only messages we hold: adding one here would leave a hole around it.
  if (store && store.get(m.seq) && store.insert(m) === UPDATED) {
    if (m.room === state.current) scheduleRender({ messages: true });
  }
}

function onMessageDeleted(p) {
  if (!p || !p.room) return;
  const store = state.stores.get(p.room);
  const room = state.rooms.get(p.room);
  const had = store && store.get(p.seq);
  if (had && !had.deleted && room && !isMine(had) && p.seq > room.readSeq && room.unread > 0) room.unread -= 1;
  if (store && store.markDeleted(p.seq)) {
    if (state.editing && state.editing.room === p.room && state.editing.seq === p.seq) state.editing = null;
    if (p.room === state.current) scheduleRender({ messages: true });
  }
  scheduleRender({ sidebar: true });
}

function onPresence(p) {
  if (!p || !p.room || !p.user) return;
  const online = p.status === 'online';
  state.peerOnline.set(p.user.username.toLowerCase(), online);
  const pr = state.presence.get(p.room);
  if (pr) {
    const had = pr.users.has(p.user.id);
    if (online && !had) { pr.users.set(p.user.id, p.user); pr.count += 1; }
    if (!online && had) { pr.users.delete(p.user.id); pr.count = Math.max(pr.users.size, pr.count - 1); }
    if (!online && !had && pr.count > pr.users.size) pr.count -= 1;
  }
  if (!online) clearTyping(p.room, p.user.username);
  scheduleRender({ header: p.room === state.current, sidebar: true });
}

function onTyping(p) {
  if (!p || !p.room || !p.user || (state.me && p.user.id === state.me.id)) return;
  let m = state.typing.get(p.room);
  if (!m) state.typing.set(p.room, (m = new Map()));
  clearTimeout(m.get(p.user.username));
  m.set(p.user.username, setTimeout(() => clearTyping(p.room, p.user.username), TYPING_SHOW_MS));
  if (p.room === state.current) renderTyping();
}

function clearTyping(room, username) {
  const m = state.typing.get(room);
  if (!m || !username || !m.has(username)) return;
  clearTimeout(m.get(username));
  m.delete(username);
  if (room === state.current) renderTyping();
}

function onReadMarker(p) {
  const room = p && state.rooms.get(p.room);
  if (!room) return;
  applyReadMarker(room, p.seq);
  scheduleRender({ sidebar: true });
}

function applyReadMarker(room, seq, unreadFromServer) {
  if (!(seq >= room.readSeq)) {
    if (unreadFromServer !== undefined && seq === room.readSeq) room.unread = unreadFromServer;
    return;
  }
  room.readSeq = seq;
  if (unreadFromServer !== undefined) {
    room.unread = unreadFromServer;
    return;
  }
  const store = state.stores.get(room.name);
  if (seq >= room.lastSeq) room.unread = 0;
  else if (store && store.loaded && store.oldestSeq <= seq + 1) room.unread = countUnread(store, seq, state.me.id);
  else room.unread = Math.max(0, Math.min(room.unread, room.lastSeq - seq));
}

function onRoomAdded(r) {
  if (!r || !r.name) return;
  const isNew = !state.rooms.has(r.name);
  upsertRoom(r);
  const store = state.stores.get(r.name);
  if (store && store.loaded) recoverRoom(r.name, r.last_seq || 0);
  if (isNew && isDM(r.name)) setSideStatus(`${roomLabel(r.name, state.me.username)} started a conversation with you.`, 'ok');
  else if (isNew) setSideStatus(`You were added to #${r.name}.`, 'ok');
  scheduleRender({ sidebar: true });
}

function onUnsolicitedError(p) {
  if (!p) return;
  if (p.code === 'rate_limited' || p.code === 'too_large') setComposerError(errorText(p));
}

// ---------------------------------------------------------------- rooms

function upsertRoom(r) {
  const old = state.rooms.get(r.name);
  const lastSeq = Math.max(0, Number(r.last_seq) || 0);
  const unread = Math.max(0, Number(r.unread) || 0);
  const info = {
    name: r.name,
    private: !!r.private || isDM(r.name),
    lastSeq,
    unread,
    readSeq: Math.max(old ? old.readSeq : 0, lastSeq - unread),
    membersOnline: Number(r.members_online) || 0,
  };
  if (old && old.readSeq > lastSeq - unread && unread === 0) info.readSeq = old.readSeq;
  state.rooms.set(r.name, info);
  if (isDM(r.name) && r.members_online !== undefined && state.me) {
    // members_online counts the peer (and us, if we are online): more than one means the peer is here.
    const peer = dmPeer(r.name, state.me.username).toLowerCase();
    if (!state.peerOnline.has(peer)) state.peerOnline.set(peer, info.membersOnline > 1);
  }
  return info;
}

function forgetRoom(name, announceIt) {
  state.rooms.delete(name);
  state.stores.delete(name);
  state.presence.delete(name);
  state.drafts.delete(name);
  const t = state.typing.get(name);
  if (t) for (const x of t.values()) clearTimeout(x);
  state.typing.delete(name);
  if (state.outbox) state.outbox.removeRoom(name);
  const el = state.roomEls.get(name);
  if (el) el.remove();
  state.roomEls.delete(name);
  if (announceIt) setSideStatus(`You left ${isDM(name) ? 'the conversation' : `#${name}`}.`, 'ok');
  if (state.current === name) {
    const next = state.rooms.has('general') ? 'general' : firstRoom();
    if (next) openRoom(next, { focus: false });
    else setCurrent(null);
  }
  scheduleRender({ sidebar: true });
}

function getStore(name) {
  let s = state.stores.get(name);
  if (!s) state.stores.set(name, (s = new RoomStore(name)));
  return s;
}

function setCurrent(name, { quiet = false } = {}) {
  if (state.current === name) return;
  // Keep the draft of the room we leave.
  if (state.current) state.drafts.set(state.current, $('composer').value);
  state.current = name;
  state.editing = null;
  state.confirmDelete = null;
  state.loadingOlder = false;
  state.msgEls = new Map();
  state.sepEls = new Map();
  state.gapEls = new Map();
  state.lastTypingSent = 0;
  state.forceBottom = true;
  $('messages').replaceChildren();
  $('pending-list').replaceChildren();
  $('jump-latest').hidden = true;
  $('composer').value = (name && state.drafts.get(name)) || '';
  autosize();
  updateCounter();
  if (!quiet) setComposerError('');
  if (name) writePref('room', name);
  scheduleRender({ sidebar: true, header: true, messages: true });
  renderTyping();
}

function openRoom(name, { focus = true } = {}) {
  if (!state.rooms.has(name)) return;
  setCurrent(name);
  const store = getStore(name);
  if (!store.loaded && !store.loading) loadLatest(name);
  refreshWho(name);
  clearInterval(state.whoTimer);
  state.whoTimer = setInterval(() => { if (state.current) refreshWho(state.current); }, WHO_REFRESH_MS);
  scheduleMarkRead(name);
  closeDrawer();
  if (focus && !isNarrow()) $('composer').focus();
}

async function loadLatest(name) {
  if (!conn || !conn.online) return;
  const store = getStore(name);
  store.loading = true;
  if (name === state.current) setHistoryStatus('Loading messages…');
  try {
    const res = await conn.request('history', { room: name, limit: PAGE });
    if (state.stores.get(name) !== store) return;
    store.insertMany(res.messages || []);
    settleOutboxFrom(res.messages);
    store.loaded = true;
    store.reachedStart = !res.has_more;
    if (name === state.current) state.forceBottom = true;
  } catch (err) {
    if (name === state.current && err.code !== 'disconnected') setHistoryStatus(`Could not load messages: ${errorText(err)}`);
  } finally {
    store.loading = false;
    scheduleRender({ messages: true, sidebar: true });
    scheduleMarkRead(name);
  }
}

async function loadOlder() {
  const name = state.current;
  const store = name && state.stores.get(name);
  if (!store || !store.loaded || store.reachedStart || state.loadingOlder || !conn || !conn.online) return;
  if (!store.size) { store.reachedStart = true; return; }
  state.loadingOlder = true;
  setHistoryStatus('Loading older messages…');
  try {
    const res = await conn.request('history', { room: name, before_seq: store.oldestSeq, limit: PAGE });
    if (state.stores.get(name) !== store) return;
    store.insertMany(res.messages || []);
    settleOutboxFrom(res.messages);
    if (!res.has_more || !(res.messages || []).length) store.reachedStart = true;
  } catch (err) {
    if (err.code !== 'disconnected') setHistoryStatus(`Could not load older messages: ${errorText(err)}`);
  } finally {
    state.loadingOlder = false;
    scheduleRender({ messages: true });
  }
}

async function fillGap(gap) {
  const name = state.current;
  const store = name && state.stores.get(name);
  if (!store || !conn || !conn.online || store.fillingGap) return;
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
    if (err.code !== 'disconnected') setHistoryStatus(`Could not load missed messages: ${errorText(err)}`);
  } finally {
    store.fillingGap = false;
    scheduleRender({ messages: true });
  }
}

// recoverRoom fetches what a loaded room missed while disconnected (§6).
async function recoverRoom(name, cursor) {
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

async function refreshWho(name) {
  if (!conn || !conn.online || !name) return;
  try {
    const r = await conn.request('who', { room: name, limit: 100 });
    const users = new Map((r.users || []).map((u) => [u.id, u]));
    state.presence.set(name, { count: Math.max(Number(r.online) || 0, users.size), users });
    for (const u of users.values()) state.peerOnline.set(u.username.toLowerCase(), true);
    if (isDM(name) && state.me) {
      const peer = dmPeer(name, state.me.username).toLowerCase();
      state.peerOnline.set(peer, [...users.values()].some((u) => u.username.toLowerCase() === peer));
    }
    scheduleRender({ header: name === state.current, sidebar: isDM(name) });
  } catch {
    // Presence is best effort; the next refresh tries again.
  }
}

async function refreshPublicRooms() {
  if (!conn || !conn.online || Date.now() - state.publicRoomsAt < 10000) return;
  state.publicRoomsAt = Date.now();
  try {
    const r = await conn.request('list_rooms', {});
    const opts = (r.rooms || [])
      .filter((x) => x && x.name && !x.private && !state.rooms.has(x.name))
      .map((x) => {
        const o = document.createElement('option');
        o.value = x.name;
        return o;
      });
    $('public-rooms').replaceChildren(...opts);
  } catch {
    // Only suggestions.
  }
}

// ---------------------------------------------------------------- read state

function viewing() {
  return document.visibilityState === 'visible' && document.hasFocus();
}

function scheduleMarkRead(name) {
  if (!name || state.markTimers.has(name)) return;
  state.markTimers.set(name, setTimeout(() => {
    state.markTimers.delete(name);
    markRead(name);
  }, 250));
}

async function markRead(name) {
  if (name !== state.current || !viewing() || !conn || !conn.online) return;
  const room = state.rooms.get(name);
  const store = state.stores.get(name);
  if (!room || !store || !store.loaded || store.syncing) return;
  const seq = store.newestSeq;
  if (!seq || (seq <= room.readSeq && room.unread === 0)) return;
  room.readSeq = Math.max(room.readSeq, seq);
  room.unread = 0; // optimistic; the ack has the server's count
  scheduleRender({ sidebar: true });
  try {
    const ack = await conn.request('mark_read', { room: name, seq });
    if (ack && ack.room === name && Number.isFinite(ack.unread)) {
      applyReadMarker(room, Number(ack.seq) || seq, Number(ack.unread));
      scheduleRender({ sidebar: true });
    }
  } catch {
    // The next view or message marks it again.
  }
}

// ---------------------------------------------------------------- outbox

function isMine(m) {
  return !!(state.me && m && m.from && m.from.id === state.me.id);
}

// settleOutbox drops an outbox entry that the server has stored (seen as an
// ack, a live message or in history), so it is never shown twice.
function settleOutbox(clientMsgId) {
  if (state.outbox && state.outbox.remove(clientMsgId)) {
    state.inflight.delete(clientMsgId);
    scheduleRender({ messages: true });
  }
}

function settleOutboxFrom(msgs) {
  for (const m of msgs || []) if (m.client_msg_id && isMine(m)) settleOutbox(m.client_msg_id);
}

function queueMessage(text) {
  const room = state.current;
  if (!room || !state.outbox) return;
  state.outbox.add(room, text);
  state.forceBottom = true;
  scheduleRender({ messages: true });
  flushOutbox();
}

// flushOutbox sends pending entries one at a time, oldest first, so the
// room sees them in the order they were written.
async function flushOutbox() {
  if (state.flushing || !conn || !conn.online || !state.outbox) return;
  state.flushing = true;
  clearTimeout(state.flushTimer);
  try {
    for (;;) {
      const next = state.outbox.pending().find((e) => !state.inflight.has(e.clientMsgId));
      if (!next || !conn || !conn.online) break;
      if (!state.rooms.has(next.room)) {
        state.outbox.update(next.clientMsgId, { state: 'failed', error: 'You are no longer in this room.' });
        continue;
      }
      const ok = await sendEntry(next);
      if (!ok) break;
    }
  } finally {
    state.flushing = false;
  }
}

const TOO_BIG = 'Too large to send: it has too many special characters. Shorten it.';

async function sendEntry(e) {
  const payload = { room: e.room, text: e.text, client_msg_id: e.clientMsgId };
  if (!fitsFrame('send_message', payload, state.maxFrameBytes)) {
    // Sending it would get the connection closed (1009) and be retried
    // forever, holding up every message behind it.
    state.outbox.update(e.clientMsgId, { state: 'failed', error: TOO_BIG });
    scheduleRender({ messages: e.room === state.current });
    return true;
  }
  state.inflight.add(e.clientMsgId);
  scheduleRender({ messages: e.room === state.current });
  try {
    const ack = await conn.request('send_message', payload);
    state.flushAttempt = 0;
    onAcked(ack && ack.message, e);
    return true;
  } catch (err) {
    state.inflight.delete(e.clientMsgId);
    if (!state.outbox.has(e.clientMsgId)) return true; // settled meanwhile (live echo)
    if (classifySendError(err.code) === 'retry') {
      if (err.code !== 'disconnected') {
        if (e.room === state.current) setComposerError(errorText(err));
        clearTimeout(state.flushTimer);
        state.flushTimer = setTimeout(flushOutbox, backoffDelay(state.flushAttempt++, { base: 1000, cap: 15000 }));
      }
      scheduleRender({ messages: e.room === state.current });
      return false;
    }
    state.outbox.update(e.clientMsgId, { state: 'failed', error: errorText(err) });
    if (e.room === state.current) setComposerError(errorText(err));
    scheduleRender({ messages: e.room === state.current });
    return true;
  }
}

function onAcked(m, entry) {
  state.inflight.delete(entry.clientMsgId);
  state.outbox.remove(entry.clientMsgId);
  if (m && m.room && state.rooms.has(m.room)) {
    const room = state.rooms.get(m.room);
    room.lastSeq = Math.max(room.lastSeq, m.seq);
    const store = state.stores.get(m.room);
    if (store && (store.loaded || store.loading)) store.insert(m);
    // Writing in a room means having read it.
    if (m.room === state.current) scheduleMarkRead(m.room);
  }
  if (entry.room === state.current) setComposerError('');
  scheduleRender({ messages: entry.room === state.current, sidebar: true });
}

// ---------------------------------------------------------------- rendering

function scheduleRender(flags) {
  for (const k of Object.keys(flags)) if (flags[k]) state.renderFlags[k] = true;
  if (state.renderQueued) return;
  state.renderQueued = true;
  // A microtask, not requestAnimationFrame: hidden tabs must keep their
  // badges and title current.
  Promise.resolve().then(() => {
    state.renderQueued = false;
    const f = state.renderFlags;
    state.renderFlags = { sidebar: false, messages: false, header: false };
    if (!state.me) return;
    if (f.sidebar) renderSidebar();
    if (f.header) renderHeader();
    if (f.messages) renderMessagePane();
  });
}

function renderMe() {
  const name = state.me.username;
  $('me-name').textContent = name;
  const av = $('me-avatar');
  av.textContent = initials(name);
  av.className = `avatar small c${colorIndex(name)}`;
}

// announceConn tells screen readers about a change of connection, once:
// the visible text counts down every second while offline, which a live
// region would read out again and again.
function announceConn(s) {
  const words = { online: 'Connected', offline: 'Connection lost, retrying', stopped: 'Signed out' }[s.state];
  if (!words || state.lastConnAnnounce === words) return;
  if (s.state === 'online' && !state.lastConnAnnounce) { state.lastConnAnnounce = words; return; } // the first connect is no news
  state.lastConnAnnounce = words;
  $('conn-announce').textContent = words;
}

function renderConn(s) {
  const el = $('conn-state');
  el.dataset.state = s.state;
  announceConn(s);
  clearInterval(state.connTicker);
  const text = $('conn-text');
  const retry = $('reconnect-now');
  retry.hidden = s.state !== 'offline';
  if (s.state === 'online') {
    text.textContent = 'Connected';
    $('composer').placeholder = state.current ? `Message ${roomTitlePrefix(state.current)}` : 'Message';
  } else if (s.state === 'connecting') {
    text.textContent = state.welcomed ? 'Reconnecting…' : 'Connecting…';
  } else if (s.state === 'offline') {
    const tick = () => {
      const secs = Math.max(0, Math.ceil((s.retryAt - Date.now()) / 1000));
      text.textContent = secs > 0 ? `Offline · retrying in ${secs}s` : 'Offline · retrying…';
    };
    tick();
    state.connTicker = setInterval(tick, 1000);
    $('composer').placeholder = 'Message (sent when the connection returns)';
  } else {
    text.textContent = 'Signed out';
  }
  scheduleRender({ messages: true });
}

function roomTitlePrefix(name) {
  return isDM(name) ? `@${dmPeer(name, state.me.username)}` : `#${name}`;
}

function totalUnread() {
  let n = 0;
  for (const r of state.rooms.values()) n += r.unread;
  return n;
}

function renderSidebar() {
  const rooms = [...state.rooms.values()];
  const me = state.me.username;
  const plain = rooms.filter((r) => !isDM(r.name)).sort((a, b) => a.name.localeCompare(b.name));
  const dms = rooms.filter((r) => isDM(r.name))
    .sort((a, b) => dmPeer(a.name, me).localeCompare(dmPeer(b.name, me), undefined, { sensitivity: 'base' }));
  reconcile($('room-list'), plain.map(roomItem));
  reconcile($('dm-list'), dms.map(roomItem));
  $('dm-empty').hidden = dms.length > 0;
  const total = totalUnread();
  document.title = titleFor(total);
  const otherUnread = rooms.some((r) => r.name !== state.current && r.unread > 0);
  $('menu-badge').hidden = !otherUnread;
  renderInvite();
}

function roomItem(r) {
  let li = state.roomEls.get(r.name);
  if (!li) {
    li = document.createElement('li');
    const btn = document.createElement('button');
    btn.type = 'button';
    btn.className = 'room-btn';
    btn.dataset.room = r.name;
    const icon = document.createElement('span');
    icon.className = 'room-icon';
    icon.setAttribute('aria-hidden', 'true');
    const label = document.createElement('span');
    label.className = 'room-label';
    const badge = document.createElement('span');
    badge.className = 'badge';
    const count = document.createElement('span');
    const sr = document.createElement('span');
    sr.className = 'visually-hidden';
    sr.textContent = ' unread';
    badge.append(count, sr);
    btn.append(icon, label, badge);
    li.append(btn);
    state.roomEls.set(r.name, li);
  }
  const btn = li.firstChild;
  const [icon, label, badge] = btn.children;
  const me = state.me.username;
  if (isDM(r.name)) {
    const peer = dmPeer(r.name, me);
    btn.dataset.user = peer;
    const on = !!state.peerOnline.get(peer.toLowerCase());
    icon.textContent = '';
    icon.className = `dm-dot${on ? ' on' : ''}`;
    icon.title = on ? 'online' : 'offline';
    label.textContent = peer;
  } else {
    icon.className = 'room-icon';
    icon.title = r.private ? 'private' : '';
    if (r.private) icon.replaceChildren(lockIcon());
    else icon.textContent = '#';
    label.textContent = r.name;
  }
  btn.dataset.unread = String(r.unread);
  badge.hidden = r.unread === 0;
  badge.firstChild.textContent = r.unread > 99 ? '99+' : String(r.unread);
  btn.classList.toggle('has-unread', r.unread > 0);
  if (r.name === state.current) btn.setAttribute('aria-current', 'page');
  else btn.removeAttribute('aria-current');
  return li;
}

function renderInvite() {
  const r = state.current && state.rooms.get(state.current);
  const show = !!(r && r.private && !isDM(r.name));
  $('invite-form').hidden = !show;
  if (show) $('invite-room-name').textContent = `#${r.name}`;
}

function renderHeader() {
  const name = state.current;
  const r = name && state.rooms.get(name);
  const title = $('room-name');
  const kind = $('room-kind');
  $('leave-room').hidden = !r;
  if (!r) {
    // Before the welcome (a reload) the saved room is not confirmed yet.
    title.textContent = name ? roomLabel(name, state.me.username) : 'No room';
    kind.textContent = name ? (isDM(name) ? '@' : '#') : '';
    $('online-count').textContent = '';
    $('online-list').replaceChildren();
    return;
  }
  const me = state.me.username;
  if (isDM(name)) {
    kind.textContent = '@';
    title.textContent = dmPeer(name, me);
  } else {
    if (r.private) kind.replaceChildren(lockIcon());
    else kind.textContent = '#';
    title.textContent = name;
  }
  $('leave-room').textContent = 'Leave';
  $('leave-room').dataset.confirm = '';
  const pr = state.presence.get(name);
  const count = pr ? pr.count : r.membersOnline;
  $('online-count').textContent = `${count} online`;
  const users = pr ? [...pr.users.values()].sort((a, b) => a.username.localeCompare(b.username)) : [];
  const shown = users.slice(0, 8).map((u, i) => {
    const s = document.createElement('span');
    s.dataset.user = u.username;
    s.textContent = (i ? ', ' : '') + u.username + (state.me && u.id === state.me.id ? ' (you)' : '');
    return s;
  });
  if (count > shown.length && shown.length) {
    const more = document.createElement('span');
    more.textContent = ` +${count - shown.length}`;
    shown.push(more);
  }
  $('online-list').replaceChildren(...shown);
  if (conn && conn.online) $('composer').placeholder = `Message ${roomTitlePrefix(name)}`;
  renderInvite();
}

function renderTyping() {
  const m = state.current && state.typing.get(state.current);
  $('typing').textContent = m ? typingText([...m.keys()].sort()) : '';
}

function setHistoryStatus(text) {
  $('history-status').textContent = text;
}

function isNearBottom() {
  const sc = $('scroller');
  return sc.scrollHeight - sc.scrollTop - sc.clientHeight < NEAR_BOTTOM_PX;
}

function renderMessagePane() {
  const sc = $('scroller');
  const list = $('messages');
  const stick = state.forceBottom || isNearBottom();
  state.forceBottom = false;
  // Keep the first visible message where it is when content changes above it.
  let anchor = null;
  let anchorTop = 0;
  if (!stick) {
    // Children are in vertical order: binary search the first one visible.
    const top = sc.getBoundingClientRect().top;
    const kids = list.children;
    let lo = 0, hi = kids.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (kids[mid].getBoundingClientRect().bottom > top) hi = mid; else lo = mid + 1;
    }
    // Anchor on a message, not a day separator: the separator of the oldest
    // day stays first when older messages of that day are prepended.
    while (lo < kids.length && !kids[lo].classList.contains('msg')) lo++;
    if (lo < kids.length) { anchor = kids[lo]; anchorTop = anchor.getBoundingClientRect().top; }
  }
  renderMessages();
  renderPending();
  if (stick) {
    sc.scrollTop = sc.scrollHeight;
    $('jump-latest').hidden = true;
  } else if (anchor && anchor.isConnected) {
    sc.scrollTop += anchor.getBoundingClientRect().top - anchorTop;
  }
  // A first page shorter than the window: fetch more so scrolling up is possible.
  const store = state.current && state.stores.get(state.current);
  if (store && store.loaded && !store.reachedStart && sc.scrollHeight <= sc.clientHeight + LOAD_OLDER_PX) {
    setTimeout(loadOlder, 0);
  }
}

function renderMessages() {
  const name = state.current;
  const list = $('messages');
  const store = name && state.stores.get(name);
  if (!store) {
    reconcile(list, []);
    $('empty-room').hidden = true;
    setHistoryStatus(name ? 'Loading messages…' : 'Join or create a room to start.');
    return;
  }
  const now = new Date();
  const nodes = [];
  let prev = null;
  let prevDay = null;
  const seps = new Map();
  const gaps = new Map();
  for (const it of store.items()) {
    if (it.kind === 'gap') {
      const key = `${it.gap.from}-${it.gap.to}`;
      const el = gapItem(it.gap, store);
      gaps.set(key, el);
      nodes.push(el);
      prev = null;
      continue;
    }
    const m = it.message;
    const d = new Date(m.sent_at);
    const dk = Number.isFinite(d.getTime()) ? dayKey(d) : 'unknown';
    if (dk !== prevDay) {
      const el = state.sepEls.get(dk) || document.createElement('li');
      el.className = 'day-sep';
      el.dataset.day = dk;
      el.textContent = dk === 'unknown' ? '' : dayLabel(d, now);
      seps.set(dk, el);
      nodes.push(el);
      prevDay = dk;
      prev = null;
    }
    nodes.push(messageItem(m, groupsWith(prev, m) && !prev.deleted));
    prev = m;
  }
  state.sepEls = seps;
  state.gapEls = gaps;
  // Drop elements of messages that no longer exist (never happens today, but cheap).
  for (const seq of state.msgEls.keys()) if (!store.get(seq)) state.msgEls.delete(seq);
  reconcile(list, nodes);

  const pendingCount = state.outbox ? state.outbox.list(name).length : 0;
  $('empty-room').hidden = !(store.loaded && store.size === 0 && pendingCount === 0 && !store.gaps.length);
  if (store.loading && !store.size) setHistoryStatus('Loading messages…');
  else if (state.loadingOlder) setHistoryStatus('Loading older messages…');
  else if (store.loaded && store.reachedStart && store.size) setHistoryStatus(`This is the start of ${roomTitlePrefix(name)}.`);
  else if (!store.loaded && !(conn && conn.online)) setHistoryStatus('Messages will load when the connection returns.');
  else if (store.loaded) setHistoryStatus('');
}

function gapItem(gap, store) {
  const key = `${gap.from}-${gap.to}`;
  let li = state.gapEls.get(key);
  if (!li) {
    li = document.createElement('li');
    li.className = 'gap-sep';
    const btn = document.createElement('button');
    btn.type = 'button';
    btn.className = 'gap-btn';
    btn.dataset.from = String(gap.from);
    btn.dataset.to = String(gap.to);
    li.append(btn);
  }
  const btn = li.firstChild;
  const n = gap.to - gap.from + 1;
  const busy = store.syncing || store.fillingGap;
  btn.disabled = !!busy;
  btn.textContent = busy ? 'Loading missed messages…' : `${n} earlier message${n === 1 ? '' : 's'} not loaded · Load`;
  return li;
}

function messageItem(m, cont) {
  const own = isMine(m);
  const editing = state.editing && state.editing.room === m.room && state.editing.seq === m.seq ? state.editing : null;
  const confirming = !!(state.confirmDelete && state.confirmDelete.room === m.room && state.confirmDelete.seq === m.seq);
  const sig = [m.text, m.deleted, m.edited_at, cont, own, editing ? `e${editing.error || ''}${editing.saving ? 's' : ''}` : '', confirming].join('\u0000');
  let li = state.msgEls.get(m.seq);
  if (li && li._sig === sig) return li;
  const focusedAction = li && li.contains(document.activeElement) ? document.activeElement.dataset.action : null;
  if (!li) {
    li = document.createElement('li');
    state.msgEls.set(m.seq, li);
  }
  li._sig = sig;
  li.className = `msg${own ? ' own' : ''}${cont ? ' cont' : ''}${m.deleted ? ' deleted' : ''}`;
  li.dataset.seq = String(m.seq);
  li.dataset.id = m.id || '';
  li.dataset.author = (m.from && m.from.username) || '';
  if (m.client_msg_id) li.dataset.clientMsgId = m.client_msg_id;

  const author = (m.from && m.from.username) || 'unknown';
  const sent = new Date(m.sent_at);
  const validTime = Number.isFinite(sent.getTime());

  const contTime = document.createElement('span');
  contTime.className = 'cont-time';
  contTime.setAttribute('aria-hidden', 'true');
  contTime.textContent = validTime ? timeLabel(sent) : '';

  const avatar = document.createElement('div');
  avatar.className = `avatar c${colorIndex(author)}`;
  avatar.setAttribute('aria-hidden', 'true');
  avatar.textContent = initials(author);

  const main = document.createElement('div');
  main.className = 'msg-main';
  const head = document.createElement('div');
  head.className = 'msg-head';
  const a = document.createElement('span');
  a.className = 'author';
  a.textContent = author;
  head.append(a);
  if (own) {
    const you = document.createElement('span');
    you.className = 'you-tag';
    you.textContent = 'you';
    head.append(you);
  }
  const time = document.createElement('time');
  time.className = 'time';
  if (validTime) {
    time.dateTime = sent.toISOString();
    time.textContent = timeLabel(sent);
    time.title = fullTimeLabel(sent);
  }
  head.append(time);

  const body = document.createElement('div');
  body.className = 'msg-body';
  if (editing) {
    body.append(editBox(m, editing));
  } else {
    const text = document.createElement('span');
    text.className = 'text';
    text.textContent = m.deleted ? 'This message was deleted.' : m.text;
    body.append(text);
    if (m.edited_at && !m.deleted) {
      const ed = document.createElement('span');
      ed.className = 'edited';
      ed.textContent = '(edited)';
      const et = new Date(m.edited_at);
      if (Number.isFinite(et.getTime())) ed.title = `Edited ${fullTimeLabel(et)}`;
      body.append(ed);
    }
  }
  main.append(head, body);
  const parts = [contTime, avatar, main];

  if (own && !m.deleted && !editing) {
    const actions = document.createElement('div');
    actions.className = 'msg-actions';
    if (confirming) {
      const q = document.createElement('span');
      q.className = 'visually-hidden';
      q.textContent = 'Delete this message?';
      actions.append(q,
        actionButton('msg-delete-confirm', 'delete-confirm', 'Delete', 'Confirm: delete this message'),
        actionButton('msg-delete-cancel', 'delete-cancel', 'Cancel', 'Cancel: keep this message'));
    } else {
      actions.append(
        actionButton('msg-edit', 'edit', 'Edit', 'Edit message'),
        actionButton('msg-delete', 'delete', 'Delete', 'Delete message'));
    }
    parts.push(actions);
  }
  li.replaceChildren(...parts);
  if (focusedAction) {
    const again = li.querySelector(`[data-action="${focusedAction}"]`) || li.querySelector('.msg-actions button');
    if (again) queueMicrotask(() => again.focus());
  }
  if (editing) {
    const ta = li.querySelector('.edit-input');
    queueMicrotask(() => {
      if (document.activeElement !== ta) {
        ta.focus();
        ta.setSelectionRange(ta.value.length, ta.value.length);
      }
    });
  }
  return li;
}

// lockIcon is a small padlock, drawn rather than an emoji so it looks the
// same with every font.
function lockIcon() {
  const NS = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(NS, 'svg');
  svg.setAttribute('viewBox', '0 0 16 16');
  svg.setAttribute('width', '13');
  svg.setAttribute('height', '13');
  svg.setAttribute('class', 'lock');
  svg.setAttribute('aria-hidden', 'true');
  const path = document.createElementNS(NS, 'path');
  path.setAttribute('fill', 'currentColor');
  path.setAttribute('d', 'M5 7V5a3 3 0 0 1 6 0v2h.5A1.5 1.5 0 0 1 13 8.5v5a1.5 1.5 0 0 1-1.5 1.5h-7A1.5 1.5 0 0 1 3 13.5v-5A1.5 1.5 0 0 1 4.5 7H5zm1.5 0h3V5a1.5 1.5 0 0 0-3 0v2z');
  svg.append(path);
  return svg;
}

function actionButton(cls, action, text, label) {
  const b = document.createElement('button');
  b.type = 'button';
  b.className = cls;
  b.dataset.action = action;
  b.textContent = text;
  b.setAttribute('aria-label', label);
  return b;
}

function editBox(m, editing) {
  const box = document.createElement('div');
  box.className = 'edit-box';
  const ta = document.createElement('textarea');
  ta.className = 'edit-input';
  ta.setAttribute('aria-label', 'Edit message');
  ta.value = editing.draft;
  ta.rows = Math.min(10, Math.max(2, editing.draft.split('\n').length));
  const row = document.createElement('div');
  row.className = 'edit-row';
  const save = actionButton('msg-edit-save btn small primary', 'edit-save', 'Save', 'Save changes');
  const cancel = actionButton('msg-edit-cancel btn small ghost', 'edit-cancel', 'Cancel', 'Cancel editing');
  save.disabled = !!editing.saving;
  const hint = document.createElement('span');
  hint.textContent = 'Enter to save · Esc to cancel';
  row.append(save, cancel, hint);
  box.append(ta, row);
  if (editing.error) {
    const err = document.createElement('p');
    err.className = 'edit-error';
    err.setAttribute('role', 'alert');
    err.textContent = editing.error;
    box.append(err);
  }
  return box;
}

function renderPending() {
  const name = state.current;
  const list = $('pending-list');
  if (!name || !state.outbox) { list.replaceChildren(); return; }
  const store = state.stores.get(name);
  const online = !!(conn && conn.online);
  const items = [];
  let prevPending = false;
  for (const e of state.outbox.list(name)) {
    // Already stored and shown: the outbox entry is settled, never shown twice.
    if (store && store.findByClientMsgId(e.clientMsgId)) { settleOutbox(e.clientMsgId); continue; }
    const li = document.createElement('li');
    li.className = `msg own pending${e.state === 'failed' ? ' failed' : ''}${prevPending ? ' cont' : ''}`;
    prevPending = true;
    li.dataset.clientMsgId = e.clientMsgId;
    const avatar = document.createElement('div');
    avatar.className = `avatar c${colorIndex(state.me.username)}`;
    avatar.setAttribute('aria-hidden', 'true');
    avatar.textContent = initials(state.me.username);
    const main = document.createElement('div');
    main.className = 'msg-main';
    const head = document.createElement('div');
    head.className = 'msg-head';
    const a = document.createElement('span');
    a.className = 'author';
    a.textContent = state.me.username;
    const st = document.createElement('span');
    st.className = 'pending-state';
    if (e.state === 'failed') {
      const why = document.createElement('span');
      why.textContent = `Not sent: ${e.error || 'error'}`;
      st.append(why,
        actionButton('pending-retry link-btn', 'retry', 'Retry', 'Retry sending this message'),
        actionButton('pending-discard link-btn', 'discard', 'Discard', 'Discard this message'));
    } else {
      if (online) {
        const sp = document.createElement('span');
        sp.className = 'spinner';
        sp.setAttribute('aria-hidden', 'true');
        st.append(sp);
      }
      const t = document.createElement('span');
      t.textContent = online ? 'Sending…' : 'Waiting for connection';
      st.append(t);
    }
    head.append(a);
    const body = document.createElement('div');
    body.className = 'msg-body';
    const text = document.createElement('span');
    text.className = 'text';
    text.textContent = e.text;
    body.append(text, st);
    main.append(head, body);
    li.append(avatar, main);
    items.push(li);
  }
  list.replaceChildren(...items);
}

// reconcile makes parent's children exactly nodes, in order, moving as few
// elements as it can (so focus, selection and scroll position survive).
function reconcile(parent, nodes) {
  const keep = new Set(nodes);
  for (const child of [...parent.children]) if (!keep.has(child)) child.remove();
  let cur = parent.firstChild;
  for (const n of nodes) {
    if (n === cur) cur = cur.nextSibling;
    else parent.insertBefore(n, cur);
  }
}

// ---------------------------------------------------------------- announcements and errors

function announce(m) {
  if (m.deleted) return;
  const inCurrent = m.room === state.current;
  if (!inCurrent && !isDM(m.room)) return;
  const region = $('live-region');
  const p = document.createElement('p');
  const who = (m.from && m.from.username) || 'someone';
  const text = m.text.length > 300 ? `${m.text.slice(0, 300)}…` : m.text;
  p.textContent = inCurrent ? `${who}: ${text}` : `New direct message from ${who}: ${text}`;
  region.append(p);
  while (region.children.length > 5) region.firstChild.remove();
}

function setComposerError(text) {
  const el = $('composer-error');
  el.textContent = text;
  el.hidden = !text;
}

let sideStatusTimer = null;
function setSideStatus(text, kind) {
  const el = $('side-status');
  el.textContent = text;
  el.className = `side-status${kind ? ` ${kind}` : ''}`;
  clearTimeout(sideStatusTimer);
  if (kind === 'ok') sideStatusTimer = setTimeout(() => { el.textContent = ''; }, 6000);
}

// ---------------------------------------------------------------- composer

function autosize() {
  const ta = $('composer');
  ta.style.height = 'auto'; // CSSOM, allowed by the CSP (unlike a style attribute)
  ta.style.height = `${Math.min(ta.scrollHeight, Math.round(window.innerHeight * 0.4))}px`;
}

function updateCounter() {
  const c = counterState($('composer').value, state.maxChars);
  const el = $('char-count');
  el.hidden = !c.visible;
  el.textContent = c.over ? `${-c.remaining} too many` : `${c.remaining} left`;
  el.classList.toggle('over', c.over);
  $('send').disabled = c.over;
}

function submitComposer() {
  const ta = $('composer');
  const text = ta.value;
  if (isBlank(text)) return;
  if (!state.current) {
    setComposerError('Join a room first.');
    return;
  }
  if (charCount(text) > state.maxChars) {
    setComposerError(`That message is too long: ${charCount(text)} of at most ${state.maxChars} characters.`);
    return;
  }
  if (!fitsFrame('send_message', { room: state.current, text, client_msg_id: 'x'.repeat(36) }, state.maxFrameBytes)) {
    setComposerError(TOO_BIG);
    return;
  }
  setComposerError('');
  ta.value = '';
  state.drafts.delete(state.current);
  state.lastTypingSent = 0;
  autosize();
  updateCounter();
  queueMessage(text);
}

function onComposerInput() {
  autosize();
  updateCounter();
  const text = $('composer').value;
  if (state.current) state.drafts.set(state.current, text);
  if (!isBlank(text) && conn && conn.online && state.current) {
    const now = Date.now();
    if (now - state.lastTypingSent >= TYPING_SEND_EVERY_MS) {
      state.lastTypingSent = now;
      conn.send('typing', { room: state.current });
    }
  }
}

function editLastOwn() {
  const store = state.current && state.stores.get(state.current);
  if (!store) return false;
  for (let i = store.messages.length - 1; i >= 0; i--) {
    const m = store.messages[i];
    if (isMine(m) && !m.deleted) {
      startEdit(m);
      return true;
    }
  }
  return false;
}

function startEdit(m) {
  state.confirmDelete = null;
  state.editing = { room: m.room, seq: m.seq, draft: m.text, error: '', saving: false };
  scheduleRender({ messages: true });
}

function cancelEdit() {
  const seq = state.editing && state.editing.seq;
  state.editing = null;
  scheduleRender({ messages: true });
  focusMessageAction(seq, 'edit');
}

function focusMessageAction(seq, action) {
  setTimeout(() => {
    const li = seq && state.msgEls.get(seq);
    const b = li && li.querySelector(`[data-action="${action}"]`);
    if (b) b.focus();
    else $('composer').focus();
  }, 0);
}

async function saveEdit() {
  const ed = state.editing;
  if (!ed || ed.saving) return;
  const store = state.stores.get(ed.room);
  const m = store && store.get(ed.seq);
  if (!m) { state.editing = null; scheduleRender({ messages: true }); return; }
  const text = ed.draft;
  if (text === m.text) { cancelEdit(); return; }
  if (isBlank(text)) { ed.error = 'A message cannot be empty. Delete it instead.'; scheduleRender({ messages: true }); return; }
  if (charCount(text) > state.maxChars) { ed.error = `Too long: at most ${state.maxChars} characters.`; scheduleRender({ messages: true }); return; }
  if (!conn || !conn.online) { ed.error = 'Not connected. Try again when the connection returns.'; scheduleRender({ messages: true }); return; }
  ed.saving = true;
  ed.error = '';
  scheduleRender({ messages: true });
  try {
    const ack = await conn.request('edit_message', { room: ed.room, seq: ed.seq, text });
    if (ack && ack.message) store.insert(ack.message) === UPDATED || store.update(ack.message);
    if (state.editing === ed) state.editing = null;
    focusMessageAction(ed.seq, 'edit');
  } catch (err) {
    ed.saving = false;
    ed.error = errorText(err);
  }
  scheduleRender({ messages: true });
}

async function deleteMessage(seq) {
  const room = state.current;
  const store = state.stores.get(room);
  state.confirmDelete = null;
  scheduleRender({ messages: true });
  if (!conn || !conn.online) {
    setComposerError('Not connected. Delete again when the connection returns.');
    return;
  }
  try {
    const ack = await conn.request('delete_message', { room, seq });
    if (store) {
      if (ack && ack.message) store.insert(ack.message);
      store.markDeleted(seq);
    }
    $('composer').focus();
  } catch (err) {
    setComposerError(`Could not delete: ${errorText(err)}`);
  }
  scheduleRender({ messages: true });
}

// ---------------------------------------------------------------- sidebar forms

async function sideRequest(btnId, fn) {
  const btn = $(btnId);
  if (!conn || !conn.online) {
    setSideStatus('Not connected. Try again when the connection returns.', 'error');
    return;
  }
  btn.disabled = true;
  try {
    await fn();
  } catch (err) {
    setSideStatus(err.friendly || errorText(err), 'error');
  } finally {
    btn.disabled = false;
  }
}

function friendly(err, text) {
  err.friendly = text;
  return err;
}

function joinRoom(e) {
  e.preventDefault();
  const input = $('join-room-input');
  const name = normalizeRoomName(input.value);
  if (!name) {
    setSideStatus('Room names are 1–64 of a–z, 0–9, “_” and “-”.', 'error');
    input.focus();
    return;
  }
  if (state.rooms.has(name)) {
    input.value = '';
    openRoom(name);
    return;
  }
  sideRequest('join-room-submit', async () => {
    let ack;
    try {
      ack = await conn.request('join_room', { room: name });
    } catch (err) {
      if (err.code === 'not_found') throw friendly(err, `#${name} is private. Ask its owner for an invitation.`);
      throw err;
    }
    addJoined(ack.room || { name });
    input.value = '';
    setSideStatus(`Joined #${name}.`, 'ok');
  });
}

function createRoom(e) {
  e.preventDefault();
  const input = $('create-room-name');
  const name = normalizeRoomName(input.value);
  const priv = $('create-room-private').checked;
  if (!name) {
    setSideStatus('Room names are 1–64 of a–z, 0–9, “_” and “-”.', 'error');
    input.focus();
    return;
  }
  sideRequest('create-room-submit', async () => {
    let ack;
    try {
      ack = await conn.request('create_room', { room: name, private: priv });
    } catch (err) {
      if (err.code === 'conflict') throw friendly(err, `#${name} already exists.${priv ? '' : ' Join it instead.'}`);
      throw err;
    }
    addJoined(ack.room || { name, private: priv });
    input.value = '';
    $('create-room-private').checked = false;
    setSideStatus(`Created ${priv ? 'private ' : ''}#${name}.`, 'ok');
  });
}

function invite(e) {
  e.preventDefault();
  const input = $('invite-user');
  const user = input.value.trim().replace(/^@/, '');
  const room = state.current;
  if (!USERNAME_RE.test(user)) {
    setSideStatus('Enter a username to invite.', 'error');
    input.focus();
    return;
  }
  sideRequest('invite-submit', async () => {
    let ack;
    try {
      ack = await conn.request('invite', { room, user });
    } catch (err) {
      if (err.code === 'not_found') throw friendly(err, `There is no user named “${user}”.`);
      if (err.code === 'forbidden') throw friendly(err, 'Only the room’s owner can invite people.');
      throw err;
    }
    input.value = '';
    const who = (ack && ack.user && ack.user.username) || user;
    setSideStatus(`Invited ${who} to #${room}.`, 'ok');
    refreshWho(room);
  });
}

function openDM(e) {
  e.preventDefault();
  const input = $('dm-user');
  const user = input.value.trim().replace(/^@/, '');
  if (!USERNAME_RE.test(user)) {
    setSideStatus('Enter the username of the person to message.', 'error');
    input.focus();
    return;
  }
  sideRequest('dm-submit', async () => {
    let ack;
    try {
      ack = await conn.request('open_dm', { user });
    } catch (err) {
      if (err.code === 'not_found') throw friendly(err, `There is no user named “${user}”.`);
      throw err;
    }
    input.value = '';
    addJoined(ack.room);
    setSideStatus('');
  });
}

function addJoined(room) {
  if (!room || !room.name) return;
  const existing = state.stores.get(room.name);
  upsertRoom(room);
  if (existing && existing.loaded) recoverRoom(room.name, room.last_seq || 0);
  openRoom(room.name);
  scheduleRender({ sidebar: true });
}

let leaveConfirmTimer = null;
async function leaveRoom() {
  const name = state.current;
  const r = name && state.rooms.get(name);
  if (!r) return;
  const btn = $('leave-room');
  if (r.private && btn.dataset.confirm !== name) {
    // Leaving a private room cannot be undone without an invitation: ask once.
    btn.dataset.confirm = name;
    btn.textContent = isDM(name) ? 'Leave conversation?' : `Leave #${name}?`;
    clearTimeout(leaveConfirmTimer);
    leaveConfirmTimer = setTimeout(() => { btn.dataset.confirm = ''; btn.textContent = 'Leave'; }, 5000);
    return;
  }
  btn.dataset.confirm = '';
  btn.textContent = 'Leave';
  if (!conn || !conn.online) {
    setSideStatus('Not connected. Try again when the connection returns.', 'error');
    return;
  }
  try {
    await conn.request('leave_room', { room: name });
    forgetRoom(name, true);
  } catch (err) {
    setSideStatus(`Could not leave: ${errorText(err)}`, 'error');
  }
}

// ---------------------------------------------------------------- drawer (narrow screens)

function isNarrow() { return window.matchMedia('(max-width: 720px)').matches; }

function openDrawer() {
  $('app-view').classList.add('drawer-open');
  $('sidebar-toggle').setAttribute('aria-expanded', 'true');
  $('scrim').hidden = false;
  $('main').inert = true; // Tab stays in the drawer, as in a dialog
  const cur = document.querySelector('.room-btn[aria-current="page"]') || document.querySelector('.room-btn');
  if (cur) cur.focus();
}

function closeDrawer() {
  if (!$('app-view').classList.contains('drawer-open')) return;
  $('app-view').classList.remove('drawer-open');
  $('sidebar-toggle').setAttribute('aria-expanded', 'false');
  $('scrim').hidden = true;
  $('main').inert = false;
}

// ---------------------------------------------------------------- wiring

// swallowEnter: an Enter we handled must not also insert a line break. A
// real keyboard's prevented keydown already stops it; synthetic input (CDP,
// some IMEs and assistive tools) sends the character as a separate event.
let swallowEnter = false;

function wireStaticHandlers() {
  document.addEventListener('keypress', (e) => {
    if (swallowEnter && e.key === 'Enter') e.preventDefault();
  }, true);
  document.addEventListener('beforeinput', (e) => {
    if (swallowEnter && (e.inputType === 'insertLineBreak' || e.inputType === 'insertParagraph' ||
        (typeof e.data === 'string' && /^[\r\n]+$/.test(e.data)))) e.preventDefault();
  }, true);
  document.addEventListener('keyup', (e) => { if (e.key === 'Enter') swallowEnter = false; }, true);

  $('auth-form').addEventListener('submit', (e) => { e.preventDefault(); doAuth('login'); });
  $('register-submit').addEventListener('click', () => doAuth('register'));
  $('logout').addEventListener('click', logout);
  $('reconnect-now').addEventListener('click', () => conn && conn.retryNow());

  const onRoomClick = (e) => {
    const b = e.target.closest('.room-btn');
    if (b) openRoom(b.dataset.room);
  };
  $('room-list').addEventListener('click', onRoomClick);
  $('dm-list').addEventListener('click', onRoomClick);

  $('join-room-form').addEventListener('submit', joinRoom);
  $('join-room-input').addEventListener('focus', refreshPublicRooms);
  $('create-room-form').addEventListener('submit', createRoom);
  $('invite-form').addEventListener('submit', invite);
  $('dm-form').addEventListener('submit', openDM);
  $('leave-room').addEventListener('click', leaveRoom);

  $('composer-form').addEventListener('submit', (e) => { e.preventDefault(); submitComposer(); });
  const composer = $('composer');
  composer.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.altKey && !e.ctrlKey && !e.metaKey && !e.isComposing) {
      e.preventDefault();
      swallowEnter = true;
      submitComposer();
    } else if (e.key === 'ArrowUp' && composer.value === '' && !e.shiftKey) {
      if (editLastOwn()) e.preventDefault();
    } else if (e.key === 'Escape') {
      setComposerError('');
    }
  });
  composer.addEventListener('input', onComposerInput);

  const messages = $('messages');
  messages.addEventListener('click', (e) => {
    const gapBtn = e.target.closest('.gap-btn');
    if (gapBtn) {
      fillGap({ from: Number(gapBtn.dataset.from), to: Number(gapBtn.dataset.to) });
      return;
    }
    const b = e.target.closest('button[data-action]');
    if (!b) {
      // Tapping a message shows its actions on touch screens (no hover there).
      const tapped = e.target.closest('.msg.own');
      for (const el of messages.querySelectorAll('.msg.selected')) if (el !== tapped) el.classList.remove('selected');
      if (tapped && !window.getSelection().toString()) tapped.classList.toggle('selected');
      return;
    }
    const li = b.closest('.msg');
    if (!li) return;
    const seq = Number(li.dataset.seq);
    const store = state.stores.get(state.current);
    const m = store && store.get(seq);
    if (!m) return;
    switch (b.dataset.action) {
      case 'edit': startEdit(m); break;
      case 'edit-save': saveEdit(); break;
      case 'edit-cancel': cancelEdit(); break;
      case 'delete':
        state.editing = null;
        state.confirmDelete = { room: m.room, seq };
        scheduleRender({ messages: true });
        setTimeout(() => { const c = li.querySelector('.msg-delete-confirm'); if (c) c.focus(); }, 0);
        break;
      case 'delete-confirm': deleteMessage(seq); break;
      case 'delete-cancel':
        state.confirmDelete = null;
        scheduleRender({ messages: true });
        focusMessageAction(seq, 'delete');
        break;
      default:
    }
  });
  messages.addEventListener('input', (e) => {
    if (e.target.classList.contains('edit-input') && state.editing) state.editing.draft = e.target.value;
  });
  messages.addEventListener('keydown', (e) => {
    if (!e.target.classList.contains('edit-input')) {
      if (e.key === 'Escape' && state.confirmDelete) {
        const seq = state.confirmDelete.seq;
        state.confirmDelete = null;
        scheduleRender({ messages: true });
        focusMessageAction(seq, 'delete');
      }
      return;
    }
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) { e.preventDefault(); swallowEnter = true; saveEdit(); }
    if (e.key === 'Escape') { e.preventDefault(); cancelEdit(); }
  });

  $('pending-list').addEventListener('click', (e) => {
    const b = e.target.closest('button[data-action]');
    const li = b && b.closest('[data-client-msg-id]');
    if (!li || !state.outbox) return;
    const id = li.dataset.clientMsgId;
    if (b.dataset.action === 'retry') {
      state.outbox.update(id, { state: 'pending', error: '' });
      setComposerError('');
      flushOutbox();
    } else if (b.dataset.action === 'discard') {
      state.outbox.remove(id);
    }
    scheduleRender({ messages: true });
    $('composer').focus();
  });

  $('scroller').addEventListener('scroll', () => {
    const sc = $('scroller');
    if (sc.scrollTop < LOAD_OLDER_PX) loadOlder();
    if (isNearBottom()) {
      $('jump-latest').hidden = true;
      if (state.current) scheduleMarkRead(state.current);
    }
  }, { passive: true });
  $('jump-latest').addEventListener('click', () => {
    const sc = $('scroller');
    sc.scrollTop = sc.scrollHeight;
    $('jump-latest').hidden = true;
    $('composer').focus();
  });

  $('sidebar-toggle').addEventListener('click', () => {
    if ($('app-view').classList.contains('drawer-open')) closeDrawer();
    else openDrawer();
  });
  $('scrim').addEventListener('click', closeDrawer);
  document.addEventListener('keydown', (e) => {
    if (e.key === 'Escape' && $('app-view').classList.contains('drawer-open')) {
      closeDrawer();
      $('sidebar-toggle').focus();
    }
    // Alt+ArrowUp/Down: previous/next room, like other chat apps.
    if (e.altKey && (e.key === 'ArrowUp' || e.key === 'ArrowDown') && state.me && state.current) {
      const order = [...document.querySelectorAll('#room-list .room-btn, #dm-list .room-btn')].map((b) => b.dataset.room);
      const i = order.indexOf(state.current);
      const next = order[(i + (e.key === 'ArrowDown' ? 1 : -1) + order.length) % order.length];
      if (next) { e.preventDefault(); openRoom(next); }
    }
  });

  window.addEventListener('focus', () => state.current && scheduleMarkRead(state.current));
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState !== 'visible') return;
    if (state.current) scheduleMarkRead(state.current);
    if (conn) conn.retryNow(); // a phone waking up should not wait out the backoff
  });
  window.addEventListener('online', () => conn && conn.retryNow());
  // Leaving the page (or entering the back/forward cache) closes the socket
  // cleanly, so others see us go offline at once; coming back reconnects.
  window.addEventListener('pagehide', () => { if (conn) conn.stop(); });
  window.addEventListener('pageshow', (e) => { if (e.persisted && conn && state.me) conn.start(); });
  window.addEventListener('resize', autosize, { passive: true });
  window.addEventListener('storage', (e) => {
    // Another tab of this user changed the outbox: show the same pending list.
    if (state.outbox && e.key === state.outbox.key) {
      state.outbox.load();
      scheduleRender({ messages: true });
    }
  });
}

// Exported for debugging from the console only.
export const _debug = { state, ADDED, get conn() { return conn; } };
