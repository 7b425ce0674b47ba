import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  roomFields, isOwner, mayManage, mayInvite, mayPost, mayDelete, applyRoomUpdated, newMemberList, addMemberPage,
  applyMemberEvent, setMemberOnline, newDirectory, addDirectoryPage, afterLeaving, activityLabel, membersLabel,
} from '../static/js/roominfo.js';

const alice = { id: 'u_a', username: 'alice' };
const bob = { id: 'u_b', username: 'Bob' };
const carol = { id: 'u_c', username: 'carol' };
const room = (extra = {}) => ({ name: 'club', private: false, memberCount: 2, role: 'member', archived: false, topic: '', description: '', ...extra });

test('roomFields reads the issue-9 fields, with safe defaults', () => {
  assert.deepEqual(roomFields({ topic: 'hi', description: 'a\nb', member_count: 3, archived: true, role: 'owner' }),
    { topic: 'hi', description: 'a\nb', memberCount: 3, archived: true, role: 'owner' });
  assert.deepEqual(roomFields({ name: 'general' }), { topic: '', description: '', memberCount: 0, archived: false, role: 'member' });
  assert.equal(roomFields({ role: 'admin', member_count: -4 }).role, 'member');
});

test('what owners and members may do', () => {
  const own = room({ role: 'owner' });
  assert.ok(isOwner(own) && mayManage(own) && !mayInvite(own));
  assert.ok(mayInvite(room({ role: 'owner', private: true })));
  assert.ok(!mayInvite(room({ role: 'member', private: true })), 'members do not invite');
  assert.ok(!mayInvite(room({ name: 'dm:alice:bob', private: true, role: 'owner' })), 'no invites to DMs');
  assert.ok(!mayManage(room({ role: 'owner', archived: true })), 'an archived room is not managed (only unarchived)');
  assert.ok(!mayManage(room()));
  assert.ok(mayPost(room()) && !mayPost(room({ archived: true })) && !mayPost(null));
  const mine = { seq: 1, from: alice }; const theirs = { seq: 2, from: bob };
  assert.ok(mayDelete(room(), mine, alice.id));
  assert.ok(!mayDelete(room(), theirs, alice.id), 'a member cannot delete others\' messages');
  assert.ok(mayDelete(own, theirs, alice.id), 'an owner can');
  assert.ok(mayDelete(room({ role: 'owner', archived: true }), theirs, alice.id), 'also in an archived room');
  assert.ok(!mayDelete(own, { ...theirs, deleted: true }, alice.id));
});

test('applyRoomUpdated takes topic, description and archived', () => {
  const r = room({ topic: 'old' });
  assert.ok(applyRoomUpdated(r, { room: 'club', topic: 'new', description: 'd', archived: true }));
  assert.deepEqual([r.topic, r.description, r.archived], ['new', 'd', true]);
  applyRoomUpdated(r, { room: 'club', topic: 'newer' }); // an older server: no description
  assert.deepEqual([r.topic, r.description, r.archived], ['newer', 'd', true]);
  assert.equal(applyRoomUpdated(undefined, { topic: 'x' }), false);
});

test('member pages are merged sorted without case, and events keep the list true', () => {
  const list = newMemberList('club');
  addMemberPage(list, { members: [{ user: carol, role: 'member', online: false }, { user: alice, role: 'owner', online: true }], member_count: 3, next_cursor: '' }, true);
  assert.deepEqual(list.members.map((m) => m.user.username), ['alice', 'carol']);
  assert.equal(list.count, 3);
  const r = room({ memberCount: 3 });
  assert.ok(applyMemberEvent('member_joined', { room: 'club', user: bob, role: 'member' }, { room: r, list, meId: alice.id }));
  assert.deepEqual(list.members.map((m) => m.user.username), ['alice', 'Bob', 'carol']);
  assert.equal(r.memberCount, 4);
  assert.equal(list.count, 4);
  // The same join again (the joiner's own connections hear it too) changes nothing.
  assert.equal(applyMemberEvent('member_joined', { room: 'club', user: bob, role: 'member' }, { room: r, list, meId: alice.id }), false);
  assert.equal(r.memberCount, 4);
  applyMemberEvent('member_updated', { room: 'club', user: bob, role: 'owner' }, { room: r, list, meId: alice.id });
  assert.equal(list.members[1].role, 'owner');
  assert.equal(r.role, 'member', 'someone else\'s role is not mine');
  applyMemberEvent('member_updated', { room: 'club', user: alice, role: 'member' }, { room: r, list, meId: alice.id });
  assert.equal(r.role, 'member');
  applyMemberEvent('member_updated', { room: 'club', user: alice, role: 'owner' }, { room: r, list, meId: alice.id });
  assert.equal(r.role, 'owner', 'my role follows member_updated');
  applyMemberEvent('member_left', { room: 'club', user: carol }, { room: r, list, meId: alice.id });
  assert.deepEqual(list.members.map((m) => m.user.username), ['alice', 'Bob']);
  assert.equal(r.memberCount, 3);
  assert.ok(setMemberOnline(list, bob.id, true));
  assert.equal(setMemberOnline(list, bob.id, true), false);
  // Another room's events leave the list alone.
  applyMemberEvent('member_left', { room: 'other', user: bob }, { room: null, list, meId: alice.id });
  assert.equal(list.members.length, 2);
});

test('my own member_joined does not count me twice', () => {
  const r = room({ memberCount: 2 });
  applyMemberEvent('member_joined', { room: 'club', user: alice, role: 'member' }, { room: r, list: null, meId: alice.id });
  assert.equal(r.memberCount, 2);
});

test('a joiner past the last page held is counted, not listed out of order', () => {
  const list = newMemberList('club');
  addMemberPage(list, { members: [{ user: alice, role: 'owner' }, { user: bob, role: 'member' }], member_count: 5, next_cursor: 'bob' }, true);
  applyMemberEvent('member_joined', { room: 'club', user: { id: 'u_z', username: 'zed' }, role: 'member' }, { room: null, list, meId: alice.id });
  assert.deepEqual(list.members.map((m) => m.user.username), ['alice', 'Bob']);
  assert.equal(list.count, 6);
  addMemberPage(list, { members: [{ user: bob, role: 'member' }, { user: carol, role: 'member' }], member_count: 6, next_cursor: '' }, false);
  assert.deepEqual(list.members.map((m) => m.user.username), ['alice', 'Bob', 'carol'], 'no member twice');
});

test('directory pages: the first replaces, more appends without repeats', () => {
  const dir = newDirectory();
  addDirectoryPage(dir, { rooms: [{ name: 'a' }, { name: 'b' }], next_cursor: 'b' }, true);
  addDirectoryPage(dir, { rooms: [{ name: 'b' }, { name: 'c' }], next_cursor: '' }, false);
  assert.deepEqual(dir.rooms.map((r) => r.name), ['a', 'b', 'c']);
  assert.equal(dir.next, '');
  addDirectoryPage(dir, { rooms: [{ name: 'go' }], next_cursor: '' }, true);
  assert.deepEqual(dir.rooms.map((r) => r.name), ['go']);
});

test('afterLeaving lands on the previous room, else general, else the first room', () => {
  assert.equal(afterLeaving('club', 'lobby', ['club', 'general', 'lobby']), 'lobby');
  assert.equal(afterLeaving('club', 'club', ['club', 'general', 'lobby']), 'general');
  assert.equal(afterLeaving('club', 'gone', ['club', 'general']), 'general');
  assert.equal(afterLeaving('club', null, ['club', 'dm:alice:bob', 'zoo']), 'zoo');
  assert.equal(afterLeaving('club', null, ['club', 'dm:alice:bob']), 'dm:alice:bob');
  assert.equal(afterLeaving('club', null, ['club']), null);
});

test('labels', () => {
  const now = Date.parse('2026-11-25T16:40:00Z');
  assert.equal(activityLabel(null, now), 'no messages yet');
  assert.equal(activityLabel('2026-11-25T16:39:30Z', now), 'active just now');
  assert.equal(activityLabel('2026-11-25T16:00:00Z', now), 'active 40 min ago');
  assert.equal(activityLabel('2026-11-24T16:40:00Z', now), 'active 1 day ago');
  assert.equal(membersLabel(1), '1 member');
  assert.equal(membersLabel(12), '12 members');
});
