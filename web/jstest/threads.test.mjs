import { test, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import {
  state, resetState, upsertRoom, getStore, noteMessage, noteReplies, heldCopies, heldMessage, applyReaction, applyReactAck, applyThreadUpdate,
} from '../static/js/state.js';
import { rootOf, noteReply, applyThreadUpdated, repliesText, newThread, addReplies, excerpt } from '../static/js/thread.js';
import {
  applyReactionEvent, fromServer, toggleOf, whoReacted, reactionLabel, reactErrorText, COMMON_EMOJI,
} from '../static/js/reactions.js';
import { RoomStore, UPDATED, DUPLICATE } from '../static/js/store.js';

const alice = { id: 'u_a', username: 'alice' };
const bob = { id: 'u_b', username: 'bob' };
const carol = { id: 'u_c', username: 'carol' };
const msg = (seq, from = bob, extra = {}) => ({ room: 'general', seq, id: `m_${seq}`, from, text: `t${seq}`, sent_at: '2026-11-25T16:40:00Z', ...extra });

beforeEach(() => {
  resetState();
  state.me = alice;
});

// ---------------------------------------------------------------- threads

test('rootOf: a reply belongs to its thread, any other message starts its own', () => {
  assert.equal(rootOf(msg(5)), 5);
  assert.equal(rootOf(msg(9, bob, { reply_to: 5 })), 5);
});

test('noteReply counts each reply once, newest replier first, at most 3 named', () => {
  const root = msg(1, alice);
  assert.equal(noteReply(root, msg(2, bob, { reply_to: 1 })), true);
  assert.deepEqual(root.replies, { count: 1, last_seq: 2, users: [bob] });
  assert.equal(noteReply(root, msg(2, bob, { reply_to: 1 })), false, 'the same reply again (ack, then echo)');
  noteReply(root, msg(3, carol, { reply_to: 1 }));
  noteReply(root, msg(4, bob, { reply_to: 1 }));
  assert.deepEqual(root.replies.users.map((u) => u.username), ['bob', 'carol']);
  noteReply(root, msg(5, alice, { reply_to: 1 }));
  noteReply(root, msg(6, { id: 'u_d', username: 'dave' }, { reply_to: 1 }));
  assert.equal(root.replies.count, 5);
  assert.deepEqual(root.replies.users.map((u) => u.username), ['dave', 'alice', 'bob']);
});

test('applyThreadUpdated takes the server summary unless a later reply is already counted', () => {
  const root = msg(1, alice);
  noteReply(root, msg(2, bob, { reply_to: 1 }));
  noteReply(root, msg(3, carol, { reply_to: 1 }));
  // thread_updated of the first reply arrives after the second reply.
  assert.equal(applyThreadUpdated(root, { count: 1, last_seq: 2, users: [bob] }), false);
  assert.equal(root.replies.count, 2);
  assert.equal(applyThreadUpdated(root, { count: 7, last_seq: 3, users: [carol, bob] }), true);
  assert.deepEqual(root.replies, { count: 7, last_seq: 3, users: [carol, bob] });
  assert.equal(applyThreadUpdated(root, null), false);
});

test('repliesText and excerpt', () => {
  assert.equal(repliesText({ count: 1 }), '1 reply');
  assert.equal(repliesText({ count: 12 }), '12 replies');
  assert.equal(excerpt('  two\n lines  '), 'two lines');
  assert.equal(excerpt('x'.repeat(100), 10), `${'x'.repeat(9)}…`);
});

test('addReplies keeps only the replies of that thread, in seq order', () => {
  const t = newThread('general', 4);
  assert.equal(addReplies(t, [msg(9, bob, { reply_to: 4 }), msg(6, bob, { reply_to: 4 }), msg(7, bob), msg(8, bob, { reply_to: 5 }),
    { ...msg(10, bob, { reply_to: 4 }), room: 'other' }]), 2);
  assert.deepEqual(t.store.messages.map((m) => m.seq), [6, 9]);
});

test('noteMessage: a live reply updates its thread\'s first message and the open thread', () => {
  upsertRoom({ name: 'general', last_seq: 4 });
  const store = getStore('general');
  store.insertMany([msg(3, alice), msg(4, bob)]);
  store.loaded = true;
  state.thread = newThread('general', 3);
  state.thread.loaded = true;
  noteMessage(msg(5, bob, { reply_to: 3 }));
  assert.equal(store.get(3).replies.count, 1);
  assert.deepEqual(state.thread.store.messages.map((m) => m.seq), [5]);
  // A reply in another thread: not in the panel.
  noteMessage(msg(6, carol, { reply_to: 4 }));
  assert.equal(store.get(4).replies.count, 1);
  assert.equal(state.thread.store.size, 1);
  // thread_updated afterwards agrees and changes nothing more.
  applyThreadUpdate({ room: 'general', seq: 3, replies: { count: 1, last_seq: 5, users: [bob] } });
  assert.equal(store.get(3).replies.count, 1);
});

test('heldCopies finds a message in the room, in the thread, and the thread\'s fetched first message', () => {
  upsertRoom({ name: 'general', last_seq: 9 });
  const store = getStore('general');
  store.insertMany([msg(8, alice, { reply_to: 2 }), msg(9, bob)]);
  state.thread = newThread('general', 2);
  state.thread.rootMsg = msg(2, carol);
  addReplies(state.thread, [msg(8, alice, { reply_to: 2 })]);
  assert.equal(heldCopies('general', 8).length, 2);
  assert.equal(heldCopies('general', 2).length, 1);
  assert.equal(heldMessage('general', 2).from.username, 'carol');
  assert.equal(heldCopies('general', 7).length, 0);
  assert.equal(heldCopies('other', 8).length, 0);
  // A thread_updated reaches the fetched first message.
  applyThreadUpdate({ room: 'general', seq: 2, replies: { count: 1, last_seq: 8, users: [alice] } });
  assert.equal(state.thread.rootMsg.replies.count, 1);
});

// ---------------------------------------------------------------- reactions

test('applyReactionEvent: me comes from add when the event is mine, and is kept otherwise', () => {
  let rs = [];
  // bob adds 👍: alice's me is false.
  rs = applyReactionEvent(rs, { user: bob, emoji: '👍', add: true, reactions: [{ emoji: '👍', count: 1, users: [bob] }] }, alice.id);
  assert.deepEqual(rs, [{ emoji: '👍', count: 1, me: false, users: [bob] }]);
  // alice adds 👍 (on another tab): me true.
  rs = applyReactionEvent(rs, { user: alice, emoji: '👍', add: true, reactions: [{ emoji: '👍', count: 2, users: [bob, alice] }] }, alice.id);
  assert.equal(rs[0].me, true);
  // carol adds 🎉: alice keeps her me on 👍 although the event has no me.
  rs = applyReactionEvent(rs, { user: carol, emoji: '🎉', add: true,
    reactions: [{ emoji: '👍', count: 2, users: [bob, alice] }, { emoji: '🎉', count: 1, users: [carol] }] }, alice.id);
  assert.deepEqual(rs.map((r) => [r.emoji, r.count, r.me]), [['👍', 2, true], ['🎉', 1, false]]);
  // alice removes 👍: me false, count down; bob removes it too: gone.
  rs = applyReactionEvent(rs, { user: alice, emoji: '👍', add: false,
    reactions: [{ emoji: '👍', count: 1, users: [bob] }, { emoji: '🎉', count: 1, users: [carol] }] }, alice.id);
  assert.deepEqual(rs.map((r) => [r.emoji, r.count, r.me]), [['👍', 1, false], ['🎉', 1, false]]);
  rs = applyReactionEvent(rs, { user: bob, emoji: '👍', add: false, reactions: [{ emoji: '🎉', count: 1, users: [carol] }] }, alice.id);
  assert.deepEqual(rs.map((r) => r.emoji), ['🎉']);
});

test('applyReactionEvent ignores malformed entries', () => {
  const rs = applyReactionEvent(undefined, { user: bob, emoji: '👍', add: true,
    reactions: [null, { emoji: '', count: 1 }, { emoji: '👍', count: 0 }, { emoji: '🎉', count: '2' }] }, alice.id);
  assert.deepEqual(rs, [{ emoji: '🎉', count: 2, me: false, users: [] }]);
});

test('applyReaction and applyReactAck change every held copy, and report whether any was held', () => {
  upsertRoom({ name: 'general', last_seq: 5 });
  const store = getStore('general');
  store.insert(msg(5, bob, { reply_to: 1 }));
  state.thread = newThread('general', 1);
  addReplies(state.thread, [msg(5, bob, { reply_to: 1 })]);
  assert.equal(applyReaction({ room: 'general', seq: 5, user: bob, emoji: '🚀', add: true, reactions: [{ emoji: '🚀', count: 1, users: [bob] }] }), true);
  assert.equal(store.get(5).reactions[0].count, 1);
  assert.equal(state.thread.store.get(5).reactions[0].count, 1);
  assert.equal(applyReactAck({ room: 'general', seq: 5, reactions: [{ emoji: '🚀', count: 2, me: true, users: [bob, alice] }] }), true);
  assert.equal(store.get(5).reactions[0].me, true);
  assert.equal(state.thread.store.get(5).reactions[0].me, true);
  assert.equal(applyReaction({ room: 'general', seq: 99, user: bob, emoji: '🚀', add: true, reactions: [] }), false);
});

test('toggleOf adds when the user has not reacted with the emoji, else removes', () => {
  const rs = fromServer([{ emoji: '👍', count: 2, me: true }, { emoji: '🎉', count: 1, me: false }]);
  assert.deepEqual(toggleOf(rs, '👍'), { emoji: '👍', add: false });
  assert.deepEqual(toggleOf(rs, '🎉'), { emoji: '🎉', add: true });
  assert.deepEqual(toggleOf(undefined, '🔥'), { emoji: '🔥', add: true });
});

test('whoReacted names you first, then others, then how many more', () => {
  assert.equal(whoReacted({ count: 1, me: false, users: [bob] }, alice.id), 'bob');
  assert.equal(whoReacted({ count: 2, me: true, users: [bob, alice] }, alice.id), 'you and bob');
  assert.equal(whoReacted({ count: 14, me: false, users: [bob, carol] }, alice.id), 'bob, carol and 12 others');
  assert.equal(whoReacted({ count: 11, me: true, users: [bob] }, alice.id), 'you, bob and 9 others');
  assert.equal(reactionLabel({ emoji: '👍', count: 1, me: false, users: [bob] }, alice.id), '👍 1 reaction from bob. Add yours');
  assert.equal(reactionLabel({ emoji: '👍', count: 2, me: true, users: [alice, bob] }, alice.id), '👍 2 reactions from you and bob. Remove yours');
});

test('reactErrorText explains the limit and deleted messages; other errors fall through', () => {
  assert.match(reactErrorText({ code: 'conflict', message: 'message has 20 reactions' }), /20 different reactions/);
  assert.match(reactErrorText({ code: 'conflict', message: 'message is deleted' }), /deleted/);
  assert.equal(reactErrorText({ code: 'not_found' }), '');
  assert.equal(new Set(COMMON_EMOJI.map((e) => e.emoji)).size, COMMON_EMOJI.length);
});

// ---------------------------------------------------------------- store

test('a page brings a held message\'s summary and reactions; a live copy without them changes nothing', () => {
  const s = new RoomStore('general');
  s.insert(msg(1, bob));
  assert.equal(s.insert(msg(1, bob)), DUPLICATE);
  assert.equal(s.insert(msg(1, bob, { replies: { count: 2, last_seq: 3, users: [carol] }, reactions: [{ emoji: '👍', count: 1, me: true, users: [alice] }] })), UPDATED);
  assert.equal(s.get(1).replies.count, 2);
  assert.equal(s.insert(msg(1, bob)), DUPLICATE);
  assert.equal(s.get(1).reactions.length, 1);
  // A deleted message shows no reactions.
  s.markDeleted(1);
  assert.equal(s.get(1).reactions, undefined);
  s.insert(msg(2, bob, { reactions: [{ emoji: '👍', count: 1 }] }));
  assert.equal(s.insert(msg(2, bob, { deleted: true, text: '' })), UPDATED);
  assert.equal(s.get(2).reactions, undefined);
});

test('excerpt reads the text without its Markdown', () => {
  assert.equal(excerpt('Release **v1.4** is `out`, see [notes](https://x.example) @bob'), 'Release v1.4 is out, see notes @bob');
  assert.equal(excerpt('> quoted\n- one\n- two'), 'quoted one two');
});

test('noteReplies counts replies caught up on after a reconnect, once', () => {
  upsertRoom({ name: 'general', last_seq: 2 });
  const store = getStore('general');
  store.insertMany([msg(1, alice), msg(2, bob)]);
  const missed = [msg(3, carol, { reply_to: 1 }), msg(4, bob), msg(5, bob, { reply_to: 1 })];
  store.insertMany(missed);
  noteReplies(missed);
  noteReplies(missed); // the same page again (a retried catch-up)
  assert.deepEqual(store.get(1).replies, { count: 2, last_seq: 5, users: [bob, carol] });
  assert.equal(store.get(2).replies, undefined);
});
