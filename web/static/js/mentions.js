// Mentions without the DOM: where the composer's caret is writing an
// @name, which members it may name, what choosing one writes, and which
// new messages deserve a browser notification. The views and actions that
// use them are autocomplete.js and notify.js; node tests import this.

/** MAX_ROOM_MENTION_MEMBERS: above this, only an owner's @room mentions (the server's rule). */
export const MAX_ROOM_MENTION_MEMBERS = 50;
/** MAX_SUGGESTIONS bounds the autocomplete list. */
export const MAX_SUGGESTIONS = 8;

const NAME_CHAR = /[A-Za-z0-9_.-]/;

/**
 * mentionAt finds the @name being written just before the caret:
 * {start, query} with start the index of the "@", or null. As on the
 * server, an @ counts only at the start or after a character that cannot
 * be in a username (so an e-mail address is not a mention).
 */
export function mentionAt(text, caret) {
  let i = caret;
  while (i > 0 && NAME_CHAR.test(text[i - 1])) i--;
  if (i === 0 || text[i - 1] !== '@') return null;
  const at = i - 1;
  if (at > 0 && NAME_CHAR.test(text[at - 1])) return null;
  const query = text.slice(i, caret);
  if (query.length > 32) return null;
  return { start: at, query };
}

/** mayMentionRoom is the server's rule for @room, as the client can know it. */
export function mayMentionRoom(room) {
  if (!room) return false;
  return !(room.memberCount > MAX_ROOM_MENTION_MEMBERS) || room.role === 'owner';
}

/**
 * suggest picks the members an @query may mean: names that start with the
 * query first, then names that contain it, each group by name, without
 * the user themself; "room" is offered (first if it matches) when allowed.
 * It returns [{username, room: bool}], at most limit.
 */
export function suggest(members, query, { me = '', allowRoom = false, limit = MAX_SUGGESTIONS } = {}) {
  const q = query.toLowerCase();
  const mine = me.toLowerCase();
  const starts = [];
  const contains = [];
  const seen = new Set();
  for (const m of members) {
    const name = typeof m === 'string' ? m : m && m.username;
    if (!name) continue;
    const key = name.toLowerCase();
    if (key === mine || seen.has(key)) continue;
    seen.add(key);
    if (key.startsWith(q)) starts.push(name);
    else if (q && key.includes(q)) contains.push(name);
  }
  const byName = (a, b) => a.localeCompare(b, undefined, { sensitivity: 'base' });
  const out = [];
  if (allowRoom && 'room'.startsWith(q)) out.push({ username: 'room', room: true });
  for (const name of [...starts.sort(byName), ...contains.sort(byName)]) out.push({ username: name, room: false });
  return out.slice(0, limit);
}

/**
 * applyMention writes @username in place of the @query that starts at
 * start and ends at caret, followed by a space; it returns the new text
 * and caret.
 */
export function applyMention(text, start, caret, username) {
  const rest = text.slice(caret);
  const insert = `@${username}${rest.startsWith(' ') ? '' : ' '}`;
  return { text: text.slice(0, start) + insert + rest, caret: start + insert.length + (rest.startsWith(' ') ? 1 : 0) };
}

/** mentionsUser reports whether the server recorded m as mentioning userID. */
export function mentionsUser(m, userID) {
  if (!m || !userID || (m.from && m.from.id === userID)) return false;
  return m.mention_room === true || (Array.isArray(m.mentions) && m.mentions.includes(userID));
}

/**
 * shouldNotify decides whether a new message raises a browser
 * notification: allowed, the page hidden, not one's own, not deleted,
 * not in a muted room, and a mention or a direct message.
 */
export function shouldNotify(m, { me, room, permission, hidden, dm }) {
  if (permission !== 'granted' || !hidden || !m || !me || !room || room.muted) return false;
  if (m.deleted || (m.from && m.from.id === me.id)) return false;
  return dm || mentionsUser(m, me.id);
}

/** NOTIFY_BODY_CHARS bounds a notification's text. */
export const NOTIFY_BODY_CHARS = 140;

/**
 * notificationText is what a notification says: its title names the
 * sender and the room, its body the text on one line, shortened.
 */
export function notificationText(m, roomTitle, dm) {
  const who = (m.from && m.from.username) || 'someone';
  const title = dm ? who : `${who} in ${roomTitle}`;
  let body = String(m.text || '').replace(/\s+/gu, ' ').trim();
  const chars = [...body];
  if (chars.length > NOTIFY_BODY_CHARS) body = `${chars.slice(0, NOTIFY_BODY_CHARS - 1).join('')}…`;
  return { title, body };
}
