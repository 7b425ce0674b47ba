import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  fitsFrame, charCount, counterState, isBlank, dayKey, dayLabel, dmPeer, roomLabel, isDM, typingText, titleFor,
  colorIndex, initials, groupsWith, normalizeRoomName, errorText, USERNAME_RE,
} from '../static/js/format.js';

test('charCount counts code points like the server', () => {
  assert.equal(charCount('abc'), 3);
  assert.equal(charCount('😀😀'), 2); // 4 UTF-16 units
  assert.equal(charCount(''), 0);
});

test('counter appears near the limit and flags overflow', () => {
  assert.deepEqual(counterState('a'.repeat(10)), { visible: false, remaining: 3990, over: false });
  assert.deepEqual(counterState('a'.repeat(3500)), { visible: true, remaining: 500, over: false });
  assert.deepEqual(counterState('a'.repeat(4000)), { visible: true, remaining: 0, over: false });
  assert.deepEqual(counterState('😀'.repeat(4001)), { visible: true, remaining: -1, over: true });
});

test('isBlank', () => {
  assert.ok(isBlank(''));
  assert.ok(isBlank(' \n\t '));
  assert.ok(!isBlank(' x '));
});

test('day labels and keys', () => {
  const now = new Date(2026, 10, 25, 12, 0);
  assert.equal(dayLabel(new Date(2026, 10, 25, 0, 1), now), 'Today');
  assert.equal(dayLabel(new Date(2026, 10, 24, 23, 59), now), 'Yesterday');
  assert.match(dayLabel(new Date(2026, 10, 20), now, 'en-US'), /November 20/);
  assert.match(dayLabel(new Date(2025, 10, 20), now, 'en-US'), /2025/);
  assert.equal(dayKey(new Date(2026, 0, 2, 23)), dayKey(new Date(2026, 0, 2, 1)));
  assert.notEqual(dayKey(new Date(2026, 0, 2)), dayKey(new Date(2026, 0, 3)));
});

test('DM names show the other person', () => {
  assert.ok(isDM('dm:alice:bob'));
  assert.ok(!isDM('general'));
  assert.equal(dmPeer('dm:alice:bob', 'alice'), 'bob');
  assert.equal(dmPeer('dm:alice:bob', 'Bob'), 'alice');
  assert.equal(dmPeer('dm:alice:alice', 'alice'), 'alice');
  assert.equal(roomLabel('general', 'alice'), 'general');
  assert.equal(roomLabel('dm:a.b:c-d', 'c-d'), 'a.b');
});

test('typing text', () => {
  assert.equal(typingText([]), '');
  assert.equal(typingText(['alice']), 'alice is typing…');
  assert.equal(typingText(['alice', 'bob']), 'alice and bob are typing…');
  assert.equal(typingText(['a', 'b', 'c']), 'a, b and c are typing…');
  assert.equal(typingText(['a', 'b', 'c', 'd']), 'Several people are typing…');
});

test('tab title carries the unread count', () => {
  assert.equal(titleFor(0), 'chatd');
  assert.equal(titleFor(3), '(3) chatd');
  assert.equal(titleFor(5000), '(999+) chatd');
});

test('avatars are stable', () => {
  assert.equal(colorIndex('alice'), colorIndex('ALICE'));
  assert.ok(colorIndex('bob') >= 0 && colorIndex('bob') < 8);
  assert.equal(initials('alice'), 'A');
  assert.equal(initials('_.x'), 'X');
  assert.equal(initials(''), '?');
});

test('messages group by author within five minutes on one day', () => {
  const a = { from: { id: 'u1' }, sent_at: '2026-11-25T12:00:00Z' };
  assert.ok(groupsWith(a, { from: { id: 'u1' }, sent_at: '2026-11-25T12:04:00Z' }));
  assert.ok(!groupsWith(a, { from: { id: 'u1' }, sent_at: '2026-11-25T12:06:00Z' }));
  assert.ok(!groupsWith(a, { from: { id: 'u2' }, sent_at: '2026-11-25T12:01:00Z' }));
  assert.ok(!groupsWith(null, a));
});

test('room names typed by people are normalized or refused', () => {
  assert.equal(normalizeRoomName(' #Random '), 'random');
  assert.equal(normalizeRoomName('my room'), 'my-room');
  assert.equal(normalizeRoomName('bad!'), '');
  assert.equal(normalizeRoomName('dm:a:b'), '');
  assert.equal(normalizeRoomName('x'.repeat(65)), '');
});

test('usernames', () => {
  assert.ok(USERNAME_RE.test('alice.b-c_1'));
  assert.ok(!USERNAME_RE.test('al'));
  assert.ok(!USERNAME_RE.test('a b c'));
});

test('error codes become sentences', () => {
  assert.match(errorText({ code: 'rate_limited' }), /too fast/);
  assert.match(errorText({ code: 'too_large' }), /4000/);
  assert.equal(errorText({ code: 'bad_request', message: 'text is empty' }), 'Text is empty.');
  assert.equal(errorText({}), 'Something went wrong.');
});

test('fitsFrame measures the encoded frame, not the characters', () => {
  const p = (text) => ({ room: 'general', text, client_msg_id: crypto.randomUUID() });
  assert.equal(fitsFrame('send_message', p('hello')), true);
  assert.equal(fitsFrame('send_message', p('😀'.repeat(4000))), true); // 16000 bytes of text
  assert.equal(fitsFrame('send_message', p('\u0001'.repeat(3000))), false); // 6 bytes each once escaped
  assert.equal(fitsFrame('send_message', p('漢'.repeat(3000)), 8192), false);
  assert.equal(fitsFrame('send_message', p('a'.repeat(100)), 320), true);
  assert.equal(fitsFrame('send_message', p('a'.repeat(100)), 280), false);
});
