// The app's state: one plain object, and the updates that change it. No DOM
// and no I/O here (node tests import it directly): the connection's events
// (events.js) and the user's actions change the state through these
// functions, and the views (view-*.js) render from it and only read it.

import { RoomStore, countUnread } from './store.js';
import { MAX_TEXT_CHARS, DEFAULT_MAX_FRAME_BYTES, isDM, dmPeer } from './format.js';
import { DEFAULT_MAX_UPLOAD_BYTES } from './files.js';
import { noteReply, applyThreadUpdated, addReplies } from './thread.js';
import { applyReactionEvent, fromServer } from './reactions.js';
import { roomFields, newDirectory } from './roominfo.js';

function initialState() {
  return {
    me: null, // {id, username} once signed in
    rooms: new Map(), // name -> {name, private, lastSeq, unread, readSeq, membersOnline}
    stores: new Map(), // name -> RoomStore, for rooms whose messages were fetched
    current: null, // the room shown
    previous: null, // the room shown before it: where leaving the current one lands
    maxChars: MAX_TEXT_CHARS,
    maxFrameBytes: DEFAULT_MAX_FRAME_BYTES,
    maxUploadBytes: DEFAULT_MAX_UPLOAD_BYTES, // one file's (issue 9)
    outbox: null, // Outbox of this user's unacked messages
    inflight: new Set(), // client_msg_ids being sent on this connection
    presence: new Map(), // room -> {count, users: Map(id -> user)}
    peerOnline: new Map(), // lower-case username -> bool (DM dots)
    typing: new Map(), // room -> Set(username) typing there now
    lastTypingSent: 0,
    drafts: new Map(), // room -> composer text left there
    editing: null, // {room, seq, draft, error, saving}
    confirmDelete: null, // {room, seq}
    thread: null, // the thread shown in the side panel: thread.js newThread
    loadingOlder: false,
    historyNote: '', // what the history line says when nothing else applies (a failed load)
    directory: newDirectory(), // the room directory's search and pages (directory.js)
    members: null, // the member list of the room whose details are open (roomadmin.js)
    joinAsk: null, // a room name that does not exist: "Create #name?"
    connStatus: { state: 'connecting' }, // the connection's last state: {state, retryAt?}
    welcomed: false, // a welcome arrived since sign-in
    mentionables: new Map(), // room -> {users: [user...], at}: whom @ suggests (autocomplete.js)
    search: null, // the search panel's state (find.js), null while closed
  };
}

/** state is the one store of app state. */
export const state = initialState();
// Kept across sign-outs: a second welcome or sign-in is no first time.
state.welcomedOnce = false;

/** resetState forgets everything of the signed-in user. */
export function resetState() {
  Object.assign(state, initialState());
}

/** online reports whether the connection is up, as last reported. */
export function online() { return state.connStatus.state === 'online'; }

export function isMine(m) {
  return !!(state.me && m && m.from && m.from.id === state.me.id);
}

/** roomTitlePrefix names a room in text: "#name" or "@peer". */
export function roomTitlePrefix(name) {
  return isDM(name) ? `@${dmPeer(name, state.me.username)}` : `#${name}`;
}

export function totalUnread() {
  let n = 0;
  for (const r of state.rooms.values()) n += r.unread;
  return n;
}

/** firstRoom is the room to show when there is no better choice. */
export function firstRoom() {
  const names = [...state.rooms.keys()].sort();
  return names.find((n) => !isDM(n)) || names[0] || null;
}

/** defaultRoom is where to go when the current room goes away. */
export function defaultRoom() {
  return state.rooms.has('general') ? 'general' : firstRoom();
}

export function getStore(name) {
  let s = state.stores.get(name);
  if (!s) state.stores.set(name, (s = new RoomStore(name)));
  return s;
}

/** upsertRoom records a room from welcome, room_added or an ack. */
export function upsertRoom(r) {
  const old = state.rooms.get(r.name);
  const lastSeq = Math.max(0, Number(r.last_seq) || 0);
  const unread = Math.max(0, Number(r.unread) || 0);
  const info = {
    name: r.name,
    private: !!r.private || isDM(r.name),
    lastSeq,
    unread,
    mentions: Math.max(0, Number(r.mentions) || 0), // unread messages that mention the user
    readSeq: Math.max(old ? old.readSeq : 0, lastSeq - unread),
    membersOnline: Number(r.members_online) || 0,
    ...roomFields(r, old), // topic, description, memberCount, archived, role
    // The user muted it (set_room_muted): no notifications, a quieter badge.
    muted: typeof r.muted === 'boolean' ? r.muted : !!(old && old.muted),
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

/** dropRoom forgets a room the user is no longer in, and what was unsent there. */
export function dropRoom(name) {
  state.rooms.delete(name);
  state.stores.delete(name);
  state.presence.delete(name);
  state.drafts.delete(name);
  state.typing.delete(name);
  if (state.thread && state.thread.room === name) state.thread = null;
  if (state.outbox) state.outbox.removeRoom(name);
}

/**
 * applyReadMarker moves a room's read marker forward to seq and works out
 * the unread count: the server's when given, else counted from the
 * messages held, else estimated from the seqs.
 */
export function applyReadMarker(room, seq, unreadFromServer) {
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

/** applyPresence records a presence event: who is online in a room. */
export function applyPresence(p) {
  const online = p.status === 'online';
  state.peerOnline.set(p.user.username.toLowerCase(), online);
  const pr = state.presence.get(p.room);
  if (pr) {
    const had = pr.users.has(p.user.id);
    if (online && !had) { pr.users.set(p.user.id, p.user); pr.count += 1; }
    if (!online && had) { pr.users.delete(p.user.id); pr.count = Math.max(pr.users.size, pr.count - 1); }
    if (!online && !had && pr.count > pr.users.size) pr.count -= 1;
  }
}

/** applyWho records the answer to `who` for a room. */
export function applyWho(name, r) {
  const users = new Map((r.users || []).map((u) => [u.id, u]));
  state.presence.set(name, { count: Math.max(Number(r.online) || 0, users.size), users });
  for (const u of users.values()) state.peerOnline.set(u.username.toLowerCase(), true);
  if (isDM(name) && state.me) {
    const peer = dmPeer(name, state.me.username).toLowerCase();
    state.peerOnline.set(peer, [...users.values()].some((u) => u.username.toLowerCase() === peer));
  }
}

/** setTyping marks username as typing in room (or not); it reports a change. */
export function setTyping(room, username, on) {
  let set = state.typing.get(room);
  if (on) {
    if (!set) state.typing.set(room, (set = new Set()));
    if (set.has(username)) return false;
    set.add(username);
    return true;
  }
  return !!(set && set.delete(username));
}

/**
 * noteMessage records a message seen live or in an ack: the room's newest
 * seq and, if its messages are held, the message itself.
 */
export function noteMessage(m) {
  const room = state.rooms.get(m.room);
  if (!room) return null;
  room.lastSeq = Math.max(room.lastSeq, m.seq);
  const store = state.stores.get(m.room);
  // A store that is not loaded holds nothing yet; the newest page will
  // bring this message when the room is opened.
  if (store && (store.loaded || store.loading)) store.insert(m);
  if (m.reply_to > 0) {
    // A reply: its thread's summary counts it, and the thread shown gets it.
    noteReplies([m]);
    const t = state.thread;
    if (t && t.room === m.room && t.root === m.reply_to && (t.loaded || t.loading)) addReplies(t, [m]);
  }
  return room;
}

/**
 * noteReplies counts the replies among msgs (live, or caught up on after
 * a reconnect) in their threads' summaries; a reply already counted is not
 * counted again.
 */
export function noteReplies(msgs) {
  for (const m of msgs || []) {
    if (m && m.reply_to > 0) for (const root of heldCopies(m.room, m.reply_to)) noteReply(root, m);
  }
}

/**
 * heldCopies returns every copy held of a message: the room's, the thread
 * panel's (a reply), and the thread's first message fetched on its own.
 */
export function heldCopies(room, seq) {
  const out = [];
  const store = state.stores.get(room);
  const a = store && store.get(seq);
  if (a) out.push(a);
  const t = state.thread;
  if (t && t.room === room) {
    const b = t.store.get(seq);
    if (b) out.push(b);
    if (t.root === seq && t.rootMsg && t.rootMsg !== a) out.push(t.rootMsg);
  }
  return out;
}

/** heldMessage returns a copy of a message, if one is held. */
export function heldMessage(room, seq) {
  return heldCopies(room, seq)[0];
}

/** applyReaction applies a reaction event; it reports whether a held message changed. */
export function applyReaction(ev) {
  if (!ev || !ev.room || !state.me) return false;
  const copies = heldCopies(ev.room, ev.seq);
  for (const m of copies) m.reactions = applyReactionEvent(m.reactions, ev, state.me.id);
  return copies.length > 0;
}

/** applyReactAck takes a message's reactions from the ack of one's own react. */
export function applyReactAck(ack) {
  if (!ack || !ack.room) return false;
  const copies = heldCopies(ack.room, ack.seq);
  for (const m of copies) m.reactions = fromServer(ack.reactions);
  return copies.length > 0;
}

/** applyThreadUpdate applies a thread_updated event to the thread's first message. */
export function applyThreadUpdate(p) {
  if (!p || !p.room) return false;
  let changed = false;
  for (const m of heldCopies(p.room, p.seq)) changed = applyThreadUpdated(m, p.replies) || changed;
  return changed;
}
