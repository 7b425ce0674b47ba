import { test, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import {
  state, resetState, online, isMine, roomTitlePrefix, totalUnread, firstRoom, defaultRoom, getStore,
  upsertRoom, dropRoom, applyReadMarker, applyPresence, applyWho, setTyping, noteMessage,
} from '../static/js/state.js';
import { Outbox } from '../static/js/outbox.js';

const alice = { id: 'u_a', username: 'alice' };
const bob = { id: 'u_b', username: 'Bob' };
const msg = (seq, from = bob, extra = {}) => ({ room: 'general', seq, id: `m_${seq}`, from, text: `t${seq}`, sent_at: '2026-11-25T16:40:00Z', ...extra });

function memoryStorage() {
  const m = new Map();
  return { getItem: (k) => (m.has(k) ? m.get(k) : null), setItem: (k, v) => m.set(k, v), removeItem: (k) => m.delete(k) };
}

beforeEach(() => {
  resetState();
  state.me = alice;
});

test('resetState forgets the user but not that a welcome was seen', () => {
  upsertRoom({ name: 'general', last_seq: 3 });
  state.welcomedOnce = true;
  state.connStatus = { state: 'online' };
  assert.equal(online(), true);
  resetState();
  assert.equal(state.me, null);
  assert.equal(state.rooms.size, 0);
  assert.equal(state.welcomedOnce, true);
  assert.equal(online(), false);
});

test('upsertRoom derives the read marker from last_seq and unread', () => {
  const r = upsertRoom({ name: 'general', last_seq: 10, unread: 3, members_online: 2 });
  assert.deepEqual(r, {
    name: 'general', private: false, lastSeq: 10, unread: 3, mentions: 0, readSeq: 7, membersOnline: 2,
    topic: '', description: '', memberCount: 0, archived: false, role: 'member', muted: false,
  });
  const club = upsertRoom({ name: 'club', topic: 'Hi', description: 'Rules', member_count: 4, archived: true, role: 'owner' });
  assert.deepEqual([club.topic, club.description, club.memberCount, club.archived, club.role], ['Hi', 'Rules', 4, true, 'owner']);
  assert.equal(upsertRoom({ name: 'team', last_seq: 4, unread: 2, mentions: 1 }).mentions, 1);
  // A later view with nothing unread keeps a marker that was further on.
  applyReadMarker(r, 10);
  const again = upsertRoom({ name: 'general', last_seq: 9, unread: 0 });
  assert.equal(again.readSeq, 10);
  assert.equal(upsertRoom({ name: 'dm:alice:bob' }).private, true);
});

test('upsertRoom keeps muted, role and size unless the room object says otherwise', () => {
  upsertRoom({ name: 'quiet', last_seq: 1, unread: 0, muted: true, role: 'owner', member_count: 60 });
  const r = upsertRoom({ name: 'quiet', last_seq: 2, unread: 1 }); // room_added of an older node: no muted
  assert.deepEqual([r.muted, r.role, r.memberCount], [true, 'owner', 60]);
  assert.equal(upsertRoom({ name: 'quiet', last_seq: 2, unread: 1, muted: false }).muted, false);
});

test('upsertRoom of a DM tells whether the peer is online, unless presence already did', () => {
  upsertRoom({ name: 'dm:alice:Bob', members_online: 2 });
  assert.equal(state.peerOnline.get('bob'), true);
  upsertRoom({ name: 'dm:alice:carol', members_online: 1 });
  assert.equal(state.peerOnline.get('carol'), false);
  state.peerOnline.set('dave', true);
  upsertRoom({ name: 'dm:alice:dave', members_online: 1 });
  assert.equal(state.peerOnline.get('dave'), true);
});

test('applyReadMarker: the server count wins, else counted from the messages held, else estimated', () => {
  const r = upsertRoom({ name: 'general', last_seq: 10, unread: 10 });
  applyReadMarker(r, 4, 2);
  assert.deepEqual([r.readSeq, r.unread], [4, 2]);
  applyReadMarker(r, 3); // backwards: ignored
  assert.deepEqual([r.readSeq, r.unread], [4, 2]);

  const store = getStore('general');
  store.insertMany([msg(5), msg(6, alice), msg(7, bob, { deleted: true }), msg(8), msg(9), msg(10)]);
  store.loaded = true;
  applyReadMarker(r, 5);
  assert.equal(r.unread, 3, 'own and deleted messages are not unread');
  applyReadMarker(r, 10);
  assert.equal(r.unread, 0);

  const far = upsertRoom({ name: 'far', last_seq: 100, unread: 50 });
  applyReadMarker(far, 90);
  assert.equal(far.unread, 10, 'without the messages: at most the seqs after the marker');
});

test('applyPresence and applyWho keep the online count and the DM dots', () => {
  applyWho('general', { online: 3, users: [alice] });
  assert.equal(state.presence.get('general').count, 3, 'the count covers users not listed');
  applyPresence({ room: 'general', status: 'online', user: bob });
  assert.equal(state.presence.get('general').count, 4);
  assert.equal(state.peerOnline.get('bob'), true);
  applyPresence({ room: 'general', status: 'online', user: bob }); // twice: no double count
  assert.equal(state.presence.get('general').count, 4);
  applyPresence({ room: 'general', status: 'offline', user: bob });
  assert.equal(state.presence.get('general').count, 3);
  assert.equal(state.peerOnline.get('bob'), false);
  applyPresence({ room: 'general', status: 'offline', user: { id: 'u_x', username: 'x' } }); // unlisted
  assert.equal(state.presence.get('general').count, 2);

  applyWho('dm:alice:Bob', { online: 1, users: [alice] });
  assert.equal(state.peerOnline.get('bob'), false, 'the peer is not among those online');
});

test('setTyping reports changes only', () => {
  assert.equal(setTyping('general', 'bob', true), true);
  assert.equal(setTyping('general', 'bob', true), false);
  assert.deepEqual([...state.typing.get('general')], ['bob']);
  assert.equal(setTyping('general', 'bob', false), true);
  assert.equal(setTyping('general', 'bob', false), false);
  assert.equal(setTyping('other', 'bob', false), false);
});

test('noteMessage moves last_seq and stores the message only in a store being filled', () => {
  const r = upsertRoom({ name: 'general', last_seq: 1 });
  assert.equal(noteMessage(msg(2)), r);
  assert.equal(r.lastSeq, 2);
  assert.equal(state.stores.has('general'), false);
  const store = getStore('general');
  noteMessage(msg(3));
  assert.equal(store.size, 0, 'an unloaded store stays empty: the newest page brings it');
  store.loading = true;
  noteMessage(msg(4));
  assert.equal(store.size, 1);
  assert.equal(noteMessage({ ...msg(1), room: 'nowhere' }), null);
});

test('dropRoom forgets the room and what was unsent there', () => {
  state.outbox = new Outbox(memoryStorage(), 'k');
  state.outbox.add('secret', 'unsent');
  state.outbox.add('general', 'kept');
  upsertRoom({ name: 'secret' });
  getStore('secret');
  state.drafts.set('secret', 'draft');
  setTyping('secret', 'bob', true);
  dropRoom('secret');
  assert.equal(state.rooms.has('secret') || state.stores.has('secret') || state.drafts.has('secret') || state.typing.has('secret'), false);
  assert.deepEqual(state.outbox.entries.map((e) => e.text), ['kept']);
});

test('room helpers: default room, unread total, names, mine', () => {
  assert.equal(firstRoom(), null);
  upsertRoom({ name: 'dm:alice:Bob', unread: 2, last_seq: 2 });
  assert.equal(firstRoom(), 'dm:alice:Bob');
  upsertRoom({ name: 'zeta', unread: 1, last_seq: 1 });
  upsertRoom({ name: 'alpha' });
  assert.equal(firstRoom(), 'alpha', 'a room before a conversation');
  assert.equal(defaultRoom(), 'alpha');
  upsertRoom({ name: 'general' });
  assert.equal(defaultRoom(), 'general');
  assert.equal(totalUnread(), 3);
  assert.equal(roomTitlePrefix('dm:alice:Bob'), '@Bob');
  assert.equal(roomTitlePrefix('zeta'), '#zeta');
  assert.equal(isMine(msg(1, alice)), true);
  assert.equal(isMine(msg(1, bob)), false);
  assert.equal(isMine({}), false);
});
