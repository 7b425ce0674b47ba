// Notices: the one-line messages of the composer and the sidebar forms,
// and what screen readers hear of new messages. Each is an event, not
// state: it is written when it happens and fades or is replaced.

import { $ } from './dom.js';
import { state } from './state.js';
import { isDM } from './format.js';

export function setComposerError(text) {
  const el = $('composer-error');
  el.textContent = text;
  el.hidden = !text;
}

/** setThreadError shows (or with '' clears) the thread panel's composer error. */
export function setThreadError(text) {
  const el = $('thread-error');
  el.textContent = text;
  el.hidden = !text;
}

let sideStatusTimer = null;

/** setSideStatus reports the result of a sidebar form; kind is 'ok' or 'error'. */
export function setSideStatus(text, kind) {
  const el = $('side-status');
  el.textContent = text;
  el.className = `side-status${kind ? ` ${kind}` : ''}`;
  clearTimeout(sideStatusTimer);
  if (kind === 'ok') sideStatusTimer = setTimeout(() => { el.textContent = ''; }, 6000);
}

/** announce reads a new message out: in the room shown, or a direct message. */
export function announce(m) {
  if (m.deleted) return;
  const inCurrent = m.room === state.current;
  if (!inCurrent && !isDM(m.room)) return;
  const region = $('live-region');
  const p = document.createElement('p');
  const who = (m.from && m.from.username) || 'someone';
  let text = m.text.length > 300 ? `${m.text.slice(0, 300)}…` : m.text;
  const files = Array.isArray(m.attachments) ? m.attachments.length : 0;
  if (files) text = `${text}${text ? ' ' : ''}(${files === 1 ? `file ${m.attachments[0].name}` : `${files} files`})`;
  p.textContent = inCurrent ? `${who}: ${text}` : `New direct message from ${who}: ${text}`;
  region.append(p);
  while (region.children.length > 5) region.firstChild.remove();
}

/** clearNotices empties them all, on sign-out. */
export function clearNotices() {
  clearTimeout(sideStatusTimer);
  $('side-status').textContent = '';
  setComposerError('');
  setThreadError('');
}
