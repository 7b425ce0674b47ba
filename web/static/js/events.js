// The connection's events: each welcome and server event changes state
// (through state.js) and asks for the parts of the page that show it.

import {
  state, upsertRoom, noteMessage, isMine, applyReadMarker, applyPresence, setTyping, defaultRoom,
  applyReaction, applyThreadUpdate,
} from './state.js';
import { UPDATED } from './store.js';
import { isDM, roomLabel, errorText } from './format.js';
import { scheduleRender } from './render.js';
import { openRoom, setCurrent, forgetRoom, recoverRoom, readPref } from './rooms.js';
import { applyRoomUpdated, applyMemberEvent, setMemberOnline } from './roominfo.js';
import { settleOutbox, flushOutbox } from './send.js';
import { scheduleMarkRead, viewing } from './read.js';
import { announce, setComposerError, setSideStatus } from './notices.js';
import { isNearBottom, showJumpLatest } from './view-messages.js';
import { reloadThread } from './replies.js';
import { mentionsUser } from './mentions.js';
import { maybeNotify, applyMuted } from './notify.js';

const TYPING_SHOW_MS = 5000;

let typingTimers = new Map(); // "room\nusername" -> timer that clears the notice

/** isOtherUser reports whether a welcome is for another user than this page's. */
export function isOtherUser(w) {
  return !!(w.user && state.me && w.user.id !== state.me.id);
}

export function handleWelcome(w) {
  if (w.user) state.me = w.user;
  if (w.limits && w.limits.max_text_chars > 0) state.maxChars = w.limits.max_text_chars;
  if (w.limits && w.limits.max_frame_bytes > 0) state.maxFrameBytes = w.limits.max_frame_bytes;
  if (w.limits && w.limits.max_upload_bytes > 0) state.maxUploadBytes = w.limits.max_upload_bytes;
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
  if (!want || !state.rooms.has(want)) want = defaultRoom();
  // On the first welcome a keyboard user lands in the composer, unless
  // something else has focus or the screen is a phone (the keyboard would
  // pop up over the messages).
  const focusComposer = !state.welcomedOnce && document.activeElement === document.body &&
    window.matchMedia('(min-width: 720px)').matches;
  state.welcomedOnce = true;
  if (want) openRoom(want, { focus: focusComposer });
  else setCurrent(null);

  reloadThread(); // replies, reactions and edits missed while away
  flushOutbox();
  scheduleRender({ sidebar: true, header: true, messages: true, conn: true });
}

export function handleEvent(type, p) {
  switch (type) {
    case 'new_message': return onNewMessage(p);
    case 'message_updated': return onMessageUpdated(p);
    case 'message_deleted': return onMessageDeleted(p);
    case 'presence': return onPresence(p);
    case 'typing': return onTyping(p);
    case 'read_marker': return onReadMarker(p);
    case 'reaction': return applyReaction(p) && scheduleRender({ messages: p.room === state.current, thread: true });
    case 'thread_updated': return applyThreadUpdate(p) && scheduleRender({ messages: p.room === state.current, thread: true });
    case 'room_added': return onRoomAdded(p);
    case 'room_muted': return applyMuted(p);
    case 'room_removed': {
      const name = p && (typeof p.room === 'string' ? p.room : (p.room && p.room.name) || p.name);
      return name && state.rooms.has(name) && forgetRoom(name, true);
    }
    case 'room_updated': return onRoomUpdated(p);
    case 'member_joined':
    case 'member_left':
    case 'member_updated': return onMemberEvent(type, p);
    case 'error': return onUnsolicitedError(p);
    default: return undefined; // late acks of timed-out requests, future events
  }
}

/** mentionsMe reports whether the server recorded m as mentioning the user. */
function mentionsMe(m) {
  return !!state.me && mentionsUser(m, state.me.id);
}

function onNewMessage(m) {
  if (!m || !m.room || !state.rooms.has(m.room)) return;
  const mine = isMine(m);
  if (mine && m.client_msg_id) settleOutbox(m.client_msg_id);
  const room = noteMessage(m);
  const store = state.stores.get(m.room);
  clearTyping(m.room, m.from && m.from.username);

  if (!mine && !m.deleted && m.seq > room.readSeq) {
    // Read only if it can be seen: not while the user is scrolled up in
    // history (the jump button and the badge tell them it is there).
    if (m.room === state.current && viewing() && store && store.loaded && isNearBottom()) scheduleMarkRead(m.room);
    else {
      room.unread += 1;
      if (mentionsMe(m)) room.mentions = (room.mentions || 0) + 1;
    }
  }
  if (!mine) {
    announce(m);
    maybeNotify(m);
  }
  if (m.reply_to > 0) scheduleRender({ thread: true });
  if (m.room === state.current) {
    if (!mine && !isNearBottom()) showJumpLatest();
    scheduleRender({ messages: true, sidebar: true });
  } else {
    scheduleRender({ sidebar: true });
  }
}

function onMessageUpdated(m) {
  if (!m || !m.room) return;
  // Only messages we hold: adding one here would leave a hole around it.
  for (const store of storesOf(m.room)) {
    if (store.get(m.seq) && store.insert(m) === UPDATED) scheduleRender({ messages: m.room === state.current, thread: true });
  }
  const t = state.thread;
  if (t && t.room === m.room && t.root === m.seq && t.rootMsg) {
    Object.assign(t.rootMsg, m);
    if (m.deleted) delete t.rootMsg.reactions;
    scheduleRender({ thread: true });
  }
}

// storesOf returns the stores that may hold a room's messages: the room's
// own, and the thread panel's when it shows a thread of that room.
function storesOf(room) {
  const out = [];
  const store = state.stores.get(room);
  if (store) out.push(store);
  if (state.thread && state.thread.room === room) out.push(state.thread.store);
  return out;
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
  const t = state.thread;
  if (t && t.room === p.room) {
    if (t.store.markDeleted(p.seq)) scheduleRender({ thread: true });
    if (t.root === p.seq && t.rootMsg) {
      Object.assign(t.rootMsg, { deleted: true, text: '' });
      delete t.rootMsg.reactions;
      scheduleRender({ thread: true });
    }
  }
  scheduleRender({ sidebar: true });
}

function onPresence(p) {
  if (!p || !p.room || !p.user) return;
  applyPresence(p);
  if (setMemberOnline(state.members, p.user.id, p.status === 'online')) scheduleRender({ details: true });
  if (p.status !== 'online') clearTyping(p.room, p.user.username);
  scheduleRender({ header: p.room === state.current, sidebar: true });
}

function onTyping(p) {
  if (!p || !p.room || !p.user || (state.me && p.user.id === state.me.id)) return;
  const key = `${p.room}\n${p.user.username}`;
  clearTimeout(typingTimers.get(key));
  typingTimers.set(key, setTimeout(() => clearTyping(p.room, p.user.username), TYPING_SHOW_MS));
  setTyping(p.room, p.user.username, true);
  if (p.room === state.current) scheduleRender({ typing: true });
}

function clearTyping(room, username) {
  if (!username) return;
  const key = `${room}\n${username}`;
  clearTimeout(typingTimers.get(key));
  typingTimers.delete(key);
  if (setTyping(room, username, false) && room === state.current) scheduleRender({ typing: true });
}

function onReadMarker(p) {
  const room = p && state.rooms.get(p.room);
  if (!room) return;
  applyReadMarker(room, p.seq);
  scheduleRender({ sidebar: true });
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

function onRoomUpdated(p) {
  if (p && applyRoomUpdated(state.rooms.get(p.room), p) && p.room === state.current) {
    scheduleRender({ header: true, messages: true });
  }
}

function onMemberEvent(type, p) {
  const room = p && state.rooms.get(p.room);
  if (!room || !applyMemberEvent(type, p, { room, list: state.members, meId: state.me && state.me.id })) return;
  if (p.room === state.current) scheduleRender({ header: true, messages: true, sidebar: true });
}

function onUnsolicitedError(p) {
  if (!p) return;
  if (p.code === 'rate_limited' || p.code === 'too_large') setComposerError(errorText(p));
}

/** resetEvents stops the typing notices' timers, on sign-out. */
export function resetEvents() {
  for (const t of typingTimers.values()) clearTimeout(t);
  typingTimers = new Map();
}
