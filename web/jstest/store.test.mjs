import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RoomStore, ADDED, UPDATED, DUPLICATE, countUnread, isNewer } from '../static/js/store.js';

const msg = (seq, extra = {}) => ({ room: 'general', seq, id: `m_${seq}`, from: { id: 'u_a', username: 'alice' }, text: `t${seq}`, sent_at: '2026-11-25T16:40:00Z', edited_at: null, deleted: false, ...extra });
const seqs = (s) => s.messages.map((m) => m.seq);

test('insert keeps seq order whatever the arrival order', () => {
  const s = new RoomStore('general');
  for (const n of [5, 1, 3, 9, 2, 7]) assert.equal(s.insert(msg(n)), ADDED);
  assert.deepEqual(seqs(s), [1, 2, 3, 5, 7, 9]);
  assert.equal(s.oldestSeq, 1);
  assert.equal(s.newestSeq, 9);
});

test('insert deduplicates by seq (history overlapping live)', () => {
  const s = new RoomStore('general');
  s.insertMany([msg(1), msg(2), msg(3)]);
  assert.equal(s.insertMany([msg(2), msg(3), msg(4)]), 1);
  assert.equal(s.insert(msg(3)), DUPLICATE);
  assert.deepEqual(seqs(s), [1, 2, 3, 4]);
});

test('insert ignores other rooms and bad seqs', () => {
  const s = new RoomStore('general');
  assert.equal(s.insert(msg(1, { room: 'random' })), DUPLICATE);
  assert.equal(s.insert(msg(0)), DUPLICATE);
  assert.equal(s.insert(msg(1.5)), DUPLICATE);
  assert.equal(s.insert(null), DUPLICATE);
  assert.equal(s.size, 0);
});

test('a newer version replaces the held one, an older does not', () => {
  const s = new RoomStore('general');
  s.insert(msg(1));
  assert.equal(s.insert(msg(1, { text: 'edited', edited_at: '2026-11-25T17:00:00Z' })), UPDATED);
  assert.equal(s.get(1).text, 'edited');
  // A stale page (e.g. history fetched before the edit) does not undo it.
  assert.equal(s.insert(msg(1)), DUPLICATE);
  assert.equal(s.get(1).text, 'edited');
  assert.equal(s.insert(msg(1, { text: '', deleted: true })), UPDATED);
  assert.equal(s.insert(msg(1, { text: 'again', edited_at: '2026-11-25T18:00:00Z' })), DUPLICATE);
  assert.equal(s.get(1).deleted, true);
  assert.ok(isNewer(msg(1), msg(1, { deleted: true })));
});

test('update and markDeleted touch only held messages', () => {
  const s = new RoomStore('general');
  s.insert(msg(1));
  assert.equal(s.update(msg(2, { text: 'x' })), false);
  assert.equal(s.update(msg(1, { text: 'x', edited_at: '2026-11-25T17:00:00Z' })), true);
  assert.equal(s.get(1).text, 'x');
  assert.equal(s.markDeleted(1), true);
  assert.equal(s.get(1).text, '');
  assert.equal(s.get(1).deleted, true);
  assert.equal(s.markDeleted(7), false);
});

test('gaps show where they belong and shrink as messages fill them', () => {
  const s = new RoomStore('general');
  s.insertMany([msg(1), msg(2), msg(1200), msg(1201)]);
  s.markGap(3, 1199);
  let items = s.items();
  assert.deepEqual(items.map((i) => i.kind === 'gap' ? `gap${i.gap.from}-${i.gap.to}` : i.message.seq), [1, 2, 'gap3-1199', 1200, 1201]);
  // Loading the newest part of the gap (before_seq = 1200).
  for (let n = 1100; n < 1200; n++) s.insert(msg(n));
  assert.deepEqual(s.gaps, [{ from: 3, to: 1099 }]);
  // A message in the middle splits it.
  s.insert(msg(500));
  assert.deepEqual(s.gaps, [{ from: 3, to: 499 }, { from: 501, to: 1099 }]);
  for (let n = 3; n < 1100; n++) s.insert(msg(n));
  assert.deepEqual(s.gaps, []);
  assert.equal(s.size, 1201);
});

test('markGap over held messages keeps only the missing part; closeGap drops it', () => {
  const s = new RoomStore('general');
  s.insertMany([msg(1), msg(2), msg(10)]);
  s.markGap(1, 10);
  assert.deepEqual(s.gaps, [{ from: 3, to: 9 }]);
  s.closeGap({ from: 3, to: 9 });
  assert.deepEqual(s.gaps, []);
  s.markGap(5, 4);
  assert.deepEqual(s.gaps, []);
});

test('findByClientMsgId finds what an outbox entry became', () => {
  const s = new RoomStore('general');
  s.insert(msg(1, { client_msg_id: 'abc' }));
  assert.equal(s.findByClientMsgId('abc').seq, 1);
  assert.equal(s.findByClientMsgId('zzz'), undefined);
  assert.equal(s.findByClientMsgId(''), undefined);
});

test('countUnread counts others\' live messages after the marker', () => {
  const s = new RoomStore('general');
  s.insertMany([msg(1), msg(2), msg(3, { from: { id: 'u_me', username: 'me' } }), msg(4, { deleted: true }), msg(5)]);
  assert.equal(countUnread(s, 1, 'u_me'), 2);
  assert.equal(countUnread(s, 5, 'u_me'), 0);
});

test('large pages insert quickly', () => {
  const s = new RoomStore('general');
  for (let n = 5000; n > 0; n--) s.insert(msg(n));
  assert.equal(s.size, 5000);
  assert.equal(s.oldestSeq, 1);
});

test('markGap around held messages splits, and merges with touching gaps', () => {
  const s = new RoomStore('general');
  s.insertMany([msg(1), msg(5), msg(20)]);
  s.markGap(2, 19);
  assert.deepEqual(s.gaps, [{ from: 2, to: 4 }, { from: 6, to: 19 }]);
  const s2 = new RoomStore('general');
  s2.markGap(1, 5);
  s2.markGap(6, 9);
  assert.deepEqual(s2.gaps, [{ from: 1, to: 9 }]);
});
