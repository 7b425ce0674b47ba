// Rooms people find and run (issue 9), without DOM or I/O: what a room's
// fields let the user do, how room and member events change what is held,
// the directory's pages, and where to go after leaving. state.js, the
// actions and the views ask these; node tests import them directly.

import { isDM } from './format.js';

/** roomFields reads the issue-9 fields of a room object from the server. */
export function roomFields(r, old) {
  // A field the object leaves out (a room_added from an older node) keeps
  // what was known.
  const keep = (k, v) => (old ? old[k] : v);
  return {
    topic: typeof r.topic === 'string' ? r.topic : keep('topic', ''),
    description: typeof r.description === 'string' ? r.description : keep('description', ''),
    memberCount: r.member_count !== undefined ? Math.max(0, Number(r.member_count) || 0) : keep('memberCount', 0),
    archived: typeof r.archived === 'boolean' ? r.archived : keep('archived', false),
    role: r.role === 'owner' || r.role === 'member' ? r.role : keep('role', 'member'),
  };
}

/** isOwner reports whether the user owns the room (general and DMs have no owners). */
export function isOwner(room) { return !!room && room.role === 'owner'; }

/** mayManage: an owner may change the topic, roles and members of a room that is not archived. */
export function mayManage(room) { return isOwner(room) && !room.archived; }

/** mayInvite: only an owner invites, and only to a private room (not a DM). */
export function mayInvite(room) { return !!room && room.private && !isDM(room.name) && isOwner(room); }

/** mayPost: every member may write, unless the room is archived. */
export function mayPost(room) { return !!room && !room.archived; }

/**
 * mayDelete: the author may delete a message, and so may the room's
 * owners (moderation, also in an archived room). Deleted ones stay deleted.
 */
export function mayDelete(room, m, meId) {
  if (!room || !m || m.deleted) return false;
  return (m.from && m.from.id === meId) || isOwner(room);
}

/** applyRoomUpdated takes a room_updated event into a held room. */
export function applyRoomUpdated(room, p) {
  if (!room || !p) return false;
  if (typeof p.topic === 'string') room.topic = p.topic;
  if (typeof p.description === 'string') room.description = p.description;
  if (typeof p.archived === 'boolean') room.archived = p.archived;
  return true;
}

/** newMemberList is the member list of one room, as the members request pages it. */
export function newMemberList(room) {
  return { room, members: [], count: 0, next: '', loaded: false, loading: false, error: '' };
}

function byName(a, b) {
  const x = a.user.username.toLowerCase();
  const y = b.user.username.toLowerCase();
  return x < y ? -1 : x > y ? 1 : 0;
}

/** addMemberPage appends a page of the members ack (first: replace what is held). */
export function addMemberPage(list, ack, first) {
  const seen = new Set(first ? [] : list.members.map((m) => m.user.id));
  const page = (ack.members || []).filter((m) => m && m.user && !seen.has(m.user.id));
  list.members = (first ? page : list.members.concat(page)).sort(byName);
  list.count = Math.max(Number(ack.member_count) || 0, list.members.length);
  list.next = ack.next_cursor || '';
  list.loaded = true;
}

/**
 * applyMemberEvent takes member_joined, member_left or member_updated into
 * a member list (if it is the room's) and a held room's count and role.
 * It reports whether anything changed.
 */
export function applyMemberEvent(type, p, { room, list, meId }) {
  if (!p || !p.user || !p.user.id) return false;
  let changed = false;
  const i = list && list.room === p.room ? list.members.findIndex((m) => m.user.id === p.user.id) : -1;
  if (type === 'member_joined') {
    // The joiner's own count came with the join's ack.
    if (room && p.user.id !== meId && !(list && list.room === p.room && i >= 0)) { room.memberCount += 1; changed = true; }
    if (list && list.room === p.room) {
      if (i < 0) {
        // Listed only where it belongs: past the last page held it comes with its page.
        const m = { user: p.user, role: p.role === 'owner' ? 'owner' : 'member', online: p.user.id === meId };
        const last = list.members[list.members.length - 1];
        if (!list.next || !last || byName(m, last) < 0) {
          list.members = list.members.concat([m]).sort(byName);
        }
        list.count += 1;
        changed = true;
      }
    }
  } else if (type === 'member_left') {
    if (room) { room.memberCount = Math.max(0, room.memberCount - 1); changed = true; }
    if (list && list.room === p.room) {
      if (i >= 0) list.members = list.members.filter((m) => m.user.id !== p.user.id);
      list.count = Math.max(list.members.length, list.count - 1);
      changed = true;
    }
  } else if (type === 'member_updated') {
    const role = p.role === 'owner' ? 'owner' : 'member';
    if (room && p.user.id === meId) { room.role = role; changed = true; }
    if (i >= 0) { list.members[i] = { ...list.members[i], role }; changed = true; }
  }
  return changed;
}

/** setMemberOnline marks a listed member online or offline (presence events). */
export function setMemberOnline(list, userId, online) {
  if (!list) return false;
  const m = list.members.find((x) => x.user.id === userId);
  if (!m || m.online === online) return false;
  m.online = online;
  return true;
}

/** newDirectory is the directory's state: a search and the pages found. */
export function newDirectory() {
  return { query: '', rooms: [], next: '', loading: false, loaded: false, error: '', seq: 0 };
}

/** addDirectoryPage takes a list_public_rooms ack: the first page replaces, later ones append. */
export function addDirectoryPage(dir, ack, first) {
  const rooms = (ack.rooms || []).filter((r) => r && r.name);
  if (first) dir.rooms = rooms;
  else {
    const have = new Set(dir.rooms.map((r) => r.name));
    dir.rooms = dir.rooms.concat(rooms.filter((r) => !have.has(r.name)));
  }
  dir.next = ack.next_cursor || '';
  dir.loaded = true;
}

/**
 * afterLeaving is the room to show once the user left `left`: the room
 * shown before it if they are still in it, else general, else the first
 * room left (rooms before DMs), else none.
 */
export function afterLeaving(left, previous, names) {
  const have = new Set(names);
  have.delete(left);
  if (previous && previous !== left && have.has(previous)) return previous;
  if (have.has('general')) return 'general';
  const sorted = [...have].sort();
  return sorted.find((n) => !isDM(n)) || sorted[0] || null;
}

/** activityLabel says how long ago a room's last message was ("" before the first). */
export function activityLabel(iso, now = Date.now()) {
  if (!iso) return 'no messages yet';
  const t = Date.parse(iso);
  if (!Number.isFinite(t)) return '';
  const s = Math.max(0, Math.round((now - t) / 1000));
  if (s < 60) return 'active just now';
  if (s < 3600) return `active ${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `active ${Math.floor(s / 3600)} h ago`;
  const d = Math.floor(s / 86400);
  return `active ${d} day${d === 1 ? '' : 's'} ago`;
}

/** membersLabel is "1 member" or "12 members". */
export function membersLabel(n) { return `${n} member${n === 1 ? '' : 's'}`; }
