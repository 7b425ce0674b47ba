// Text helpers shared by the UI. No DOM here.

export const MAX_TEXT_CHARS = 4000;
export const COUNTER_FROM = 3500; // show the counter from this many characters on

/** charCount counts Unicode code points, as the server does. */
/** DEFAULT_MAX_FRAME_BYTES is the server's frame limit when welcome names none. */
export const DEFAULT_MAX_FRAME_BYTES = 16384;

const encoder = new TextEncoder();

/**
 * fitsFrame reports whether a request frame carrying payload stays within
 * the server's frame limit. Text within the character limit can still be
 * too big once JSON-escaped (a control character takes six bytes), and an
 * oversized frame makes the server close the connection (1009): such a
 * message must never be sent, or the outbox would resend it forever.
 * The id is counted at its longest (64 bytes).
 */
export function fitsFrame(type, payload, maxBytes = DEFAULT_MAX_FRAME_BYTES) {
  const frame = JSON.stringify({ type, id: 'x'.repeat(64), payload });
  return encoder.encode(frame).length <= maxBytes;
}

export function charCount(text) {
  let n = 0;
  for (const _ of text) n++; // eslint-disable-line no-unused-vars
  return n;
}

/**
 * counterState says what the composer's counter shows for text:
 * {visible, remaining, over}.
 */
export function counterState(text, max = MAX_TEXT_CHARS, from = COUNTER_FROM) {
  const n = charCount(text);
  return { visible: n >= from, remaining: max - n, over: n > max };
}

/** isBlank reports whether text is empty or only white space. */
export function isBlank(text) { return !/\S/u.test(text); }

/** dayKey is the local calendar day of a date, for day separators. */
export function dayKey(date) {
  return `${date.getFullYear()}-${date.getMonth() + 1}-${date.getDate()}`;
}

/** dayLabel names a day: "Today", "Yesterday" or a date. */
export function dayLabel(date, now = new Date(), locale = undefined) {
  const today = new Date(now.getFullYear(), now.getMonth(), now.getDate());
  const that = new Date(date.getFullYear(), date.getMonth(), date.getDate());
  const days = Math.round((today - that) / 86400000);
  if (days === 0) return 'Today';
  if (days === 1) return 'Yesterday';
  const opts = { weekday: 'long', month: 'long', day: 'numeric' };
  if (date.getFullYear() !== now.getFullYear()) opts.year = 'numeric';
  return new Intl.DateTimeFormat(locale, opts).format(date);
}

/** timeLabel is the short local time of a message. */
export function timeLabel(date, locale = undefined) {
  return new Intl.DateTimeFormat(locale, { hour: '2-digit', minute: '2-digit' }).format(date);
}

/** fullTimeLabel is the tooltip time of a message. */
export function fullTimeLabel(date, locale = undefined) {
  return new Intl.DateTimeFormat(locale, { dateStyle: 'full', timeStyle: 'short' }).format(date);
}

/** isDM reports whether a room name is a direct conversation. */
export function isDM(name) { return typeof name === 'string' && name.startsWith('dm:'); }

/** dmPeer returns the other username of a "dm:a:b" room (or "me" for a self-DM). */
export function dmPeer(name, me) {
  const parts = name.slice(3).split(':');
  if (parts.length !== 2) return name;
  const [a, b] = parts;
  const mine = (me || '').toLowerCase();
  if (a.toLowerCase() === mine) return b;
  if (b.toLowerCase() === mine) return a;
  return `${a}, ${b}`;
}

/** roomLabel is how a room is named in the UI. */
export function roomLabel(name, me) { return isDM(name) ? dmPeer(name, me) : name; }

/** typingText phrases who is typing, or '' for nobody. */
export function typingText(names) {
  const n = names.length;
  if (n === 0) return '';
  if (n === 1) return `${names[0]} is typing…`;
  if (n === 2) return `${names[0]} and ${names[1]} are typing…`;
  if (n === 3) return `${names[0]}, ${names[1]} and ${names[2]} are typing…`;
  return 'Several people are typing…';
}

/** titleFor is the document title for a total unread count. */
export function titleFor(unread, base = 'chatd') {
  return unread > 0 ? `(${unread > 999 ? '999+' : unread}) ${base}` : base;
}

/** hue picks a stable avatar colour index (0..n-1) for a username. */
export function colorIndex(name, n = 8) {
  let h = 0;
  for (const ch of String(name).toLowerCase()) h = (h * 31 + ch.codePointAt(0)) >>> 0;
  return h % n;
}

/** initials is the avatar letter of a username. */
export function initials(name) {
  const s = String(name || '?').replace(/[^A-Za-z0-9]/g, '');
  return (s[0] || '?').toUpperCase();
}

/** groupsWith reports whether message b continues a's group (same author, within 5 minutes). */
export function groupsWith(a, b, windowMs = 5 * 60 * 1000) {
  if (!a || !b || !a.from || !b.from) return false;
  if (a.from.id !== b.from.id) return false;
  const ta = Date.parse(a.sent_at), tb = Date.parse(b.sent_at);
  if (!Number.isFinite(ta) || !Number.isFinite(tb)) return false;
  if (dayKey(new Date(ta)) !== dayKey(new Date(tb))) return false;
  return tb - ta >= 0 && tb - ta < windowMs;
}

/** Usernames and room names, as the server checks them (PROTOCOL.md §1, §3). */
export const USERNAME_RE = /^[A-Za-z0-9_.-]{3,32}$/;
export const ROOM_RE = /^[a-z0-9_-]{1,64}$/;

/** normalizeRoomName turns what a user typed into a room name (or '' if it cannot be one). */
export function normalizeRoomName(input) {
  const s = String(input).trim().replace(/^#/, '').toLowerCase().replace(/\s+/g, '-');
  return ROOM_RE.test(s) ? s : '';
}

/** errorText turns a protocol error into a sentence for the user. */
export function errorText(err) {
  const code = err && err.code;
  switch (code) {
    case 'rate_limited': return 'You are sending messages too fast. Slowing down — they will go out in a moment.';
    case 'too_large': return `That message is too long (at most ${MAX_TEXT_CHARS} characters).`;
    case 'not_found': return (err.message && !/^not found$/i.test(err.message)) ? capitalize(err.message) : 'Not found.';
    case 'forbidden': return err.message ? capitalize(err.message) : 'You are not allowed to do that.';
    case 'conflict': return err.message ? capitalize(err.message) : 'That already exists.';
    case 'unavailable': return 'The server is having trouble storing messages. Retrying…';
    case 'disconnected': return 'Not connected. It will be sent when the connection returns.';
    case 'timeout': return 'The server did not answer in time.';
    default: return err && err.message ? capitalize(err.message) : 'Something went wrong.';
  }
}

function capitalize(s) {
  s = String(s);
  const out = s.charAt(0).toUpperCase() + s.slice(1);
  return /[.!?]$/.test(out) ? out : out + '.';
}
