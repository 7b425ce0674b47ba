import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  mentionAt, suggest, applyMention, mayMentionRoom, mentionsUser, shouldNotify, notificationText, NOTIFY_BODY_CHARS,
} from '../static/js/mentions.js';

test('mentionAt finds the @name before the caret, as the server reads mentions', () => {
  assert.deepEqual(mentionAt('@', 1), { start: 0, query: '' });
  assert.deepEqual(mentionAt('hi @bo', 6), { start: 3, query: 'bo' });
  assert.deepEqual(mentionAt('hi @bo there', 6), { start: 3, query: 'bo' });
  assert.deepEqual(mentionAt('(@al', 4), { start: 1, query: 'al' });
  assert.deepEqual(mentionAt('x\n@a.b-c_d', 10), { start: 2, query: 'a.b-c_d' });
  assert.equal(mentionAt('mail me@bob', 11), null, 'an e-mail address is no mention');
  assert.equal(mentionAt('hi bob', 6), null);
  assert.equal(mentionAt('@bob rest', 9), null, 'the caret is past the name');
  assert.equal(mentionAt('@bob ', 5), null);
  assert.equal(mentionAt(`@${'a'.repeat(33)}`, 34), null, 'longer than any username');
});

test('suggest: prefix matches first, then contains, without me; @room when allowed', () => {
  const members = [{ username: 'Bobby' }, { username: 'alice' }, { username: 'bob' }, { username: 'carlbo' }, { username: 'dave' }];
  assert.deepEqual(suggest(members, 'bo', { me: 'alice' }).map((s) => s.username), ['bob', 'Bobby', 'carlbo']);
  assert.deepEqual(suggest(members, 'BO', { me: 'alice' }).map((s) => s.username), ['bob', 'Bobby', 'carlbo']);
  assert.deepEqual(suggest(members, '', { me: 'bob' }).map((s) => s.username), ['alice', 'Bobby', 'carlbo', 'dave']);
  assert.deepEqual(suggest(members, 'r', { me: 'bob', allowRoom: true }), [{ username: 'room', room: true }, { username: 'carlbo', room: false }]);
  assert.deepEqual(suggest(members, 'r', { me: 'bob' }).map((s) => s.username), ['carlbo']);
  assert.equal(suggest(members, 'zzz', { allowRoom: true }).length, 0);
  const many = Array.from({ length: 30 }, (_, i) => ({ username: `user${String(i).padStart(2, '0')}` }));
  assert.equal(suggest(many, 'user').length, 8);
  assert.deepEqual(suggest(['bob', 'BOB', null, {}], 'b').map((s) => s.username), ['bob'], 'names once, junk skipped');
});

test('applyMention writes the name and one space, and puts the caret after it', () => {
  assert.deepEqual(applyMention('hi @bo', 3, 6, 'bob'), { text: 'hi @bob ', caret: 8 });
  assert.deepEqual(applyMention('hi @bo, you?', 3, 6, 'bob'), { text: 'hi @bob , you?', caret: 8 });
  assert.deepEqual(applyMention('@b there', 0, 2, 'bob'), { text: '@bob there', caret: 5 });
});

test('mayMentionRoom follows the server: small rooms anyone, big rooms owners', () => {
  assert.ok(mayMentionRoom({ memberCount: 50, role: 'member' }));
  assert.ok(!mayMentionRoom({ memberCount: 51, role: 'member' }));
  assert.ok(mayMentionRoom({ memberCount: 500, role: 'owner' }));
  assert.ok(mayMentionRoom({ role: 'member' }), 'unknown size: allowed (the server decides)');
  assert.ok(!mayMentionRoom(null));
});

test('shouldNotify: hidden page, permission, mention or DM, never mine, never muted', () => {
  const me = { id: 'u_me', username: 'me' };
  const other = { id: 'u_x', username: 'x' };
  const mention = { room: 'general', seq: 3, from: other, text: 'hi @me', mentions: ['u_me'] };
  const plain = { room: 'general', seq: 4, from: other, text: 'hi' };
  const base = { me, room: { muted: false }, permission: 'granted', hidden: true, dm: false };
  assert.ok(shouldNotify(mention, base));
  assert.ok(!shouldNotify(plain, base));
  assert.ok(shouldNotify(plain, { ...base, dm: true }));
  assert.ok(shouldNotify({ ...plain, mention_room: true }, base));
  assert.ok(!shouldNotify(mention, { ...base, hidden: false }));
  assert.ok(!shouldNotify(mention, { ...base, permission: 'default' }));
  assert.ok(!shouldNotify(mention, { ...base, permission: 'denied' }));
  assert.ok(!shouldNotify(mention, { ...base, room: { muted: true } }));
  assert.ok(!shouldNotify(plain, { ...base, dm: true, room: { muted: true } }));
  assert.ok(!shouldNotify({ ...mention, from: me, mention_room: true }, { ...base, dm: true }), 'never my own');
  assert.ok(!shouldNotify({ ...mention, deleted: true }, base));
  assert.ok(!mentionsUser({ from: me, mention_room: true }, me.id));
});

test('notificationText: sender and room, one line, shortened', () => {
  const m = { from: { username: 'alice' }, text: 'look\n\nat   this' };
  assert.deepEqual(notificationText(m, '#general', false), { title: 'alice in #general', body: 'look at this' });
  assert.deepEqual(notificationText(m, '@alice', true), { title: 'alice', body: 'look at this' });
  const long = notificationText({ from: { username: 'a' }, text: '😀'.repeat(500) }, '#r', false).body;
  assert.equal([...long].length, NOTIFY_BODY_CHARS);
  assert.ok(long.endsWith('…'));
});
