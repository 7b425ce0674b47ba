// Threads: a message answered by replies (reply_to), its summary (count
// and latest repliers), and the thread shown in the side panel. No DOM and
// no I/O here (node tests import it directly).

import { RoomStore } from './store.js';
import { parse } from './markdown.js';

/** MAX_REPLY_USERS is how many latest repliers a summary names. */
export const MAX_REPLY_USERS = 3;

/** rootOf is the seq of the thread a message belongs to, or starts. */
export function rootOf(m) {
  return m && m.reply_to > 0 ? m.reply_to : m ? m.seq : 0;
}

/**
 * noteReply updates a thread's first message with a reply seen live, as
 * thread_updated would, so the count moves even before (or without) it.
 * A reply already counted (by seq) changes nothing; it reports a change.
 */
export function noteReply(root, reply) {
  if (!root || !reply || !(reply.seq > 0)) return false;
  const r = root.replies || { count: 0, last_seq: 0, users: [] };
  if (reply.seq <= (r.last_seq || 0)) return false;
  const from = reply.from;
  const users = from
    ? [from, ...(r.users || []).filter((u) => u && u.id !== from.id)].slice(0, MAX_REPLY_USERS)
    : (r.users || []);
  root.replies = { count: (r.count || 0) + 1, last_seq: reply.seq, users };
  return true;
}

/**
 * applyThreadUpdated takes the server's summary of a thread, unless what
 * is held already counts a later reply (thread_updated trails its reply).
 */
export function applyThreadUpdated(root, replies) {
  if (!root || !replies || !(replies.count >= 0)) return false;
  if (root.replies && root.replies.last_seq > replies.last_seq) return false;
  root.replies = {
    count: Number(replies.count) || 0,
    last_seq: Number(replies.last_seq) || 0,
    users: Array.isArray(replies.users) ? replies.users.slice(0, MAX_REPLY_USERS) : [],
  };
  return true;
}

/** repliesText is a summary's count in words: "1 reply", "3 replies". */
export function repliesText(replies) {
  const n = (replies && replies.count) || 0;
  return `${n} ${n === 1 ? 'reply' : 'replies'}`;
}

/**
 * newThread is the state of a thread panel: the room, the first message's
 * seq (root), its message when it is not among the room's held ones, and
 * the replies, kept in a RoomStore (sorted by seq, edits and deletions
 * applied; the seqs of a thread are the room's, so they have holes that
 * are not gaps).
 */
export function newThread(room, root) {
  return {
    room,
    root,
    rootMsg: null, // the first message, fetched when the room's store does not hold it
    store: new RoomStore(room),
    loading: false,
    loaded: false,
    hasOlder: false,
    loadingOlder: false,
    error: '',
  };
}

/**
 * addReplies puts a page of a thread's replies (or one live reply) into
 * the thread; what is not a reply of it is left out.
 */
export function addReplies(thread, msgs) {
  let n = 0;
  for (const m of msgs || []) {
    if (m && m.room === thread.room && m.reply_to === thread.root && thread.store.insert(m) === 'added') n++;
  }
  return n;
}

/**
 * excerpt is the start of a message on one line, as it reads (its
 * Markdown left out), for a reply's pointer to its thread.
 */
export function excerpt(text, max = 80) {
  const one = plain(parse(String(text || ''))).replace(/\s+/g, ' ').trim();
  return one.length > max ? `${one.slice(0, max - 1)}…` : one;
}

// plain is the text of Markdown nodes without their markup.
function plain(nodes) {
  let s = '';
  for (const n of nodes) {
    if (n.type === 'mention') s += `@${n.name}`;
    else if (n.type === 'br') s += ' ';
    else if (typeof n.text === 'string') s += n.text;
    else if (n.children) s += plain(n.children);
    if (n.type === 'p' || n.type === 'li' || n.type === 'quote' || (n.type === 'code' && 'lang' in n)) s += ' '; // blocks
  }
  return s;
}
