// Replies: opening a thread in the side panel, loading its replies
// (history with `thread`, newest page first, older pages on demand),
// writing a reply, and closing it again. A reply is sent through the
// outbox like any message (send.js), so one written offline goes out when
// the connection returns.

import { state, heldMessage } from './state.js';
import { conn, connected } from './client.js';
import { newThread, addReplies } from './thread.js';
import { isBlank, charCount, fitsFrame, errorText } from './format.js';
import { scheduleRender } from './render.js';
import { queueMessage, settleOutboxFrom, TOO_BIG } from './send.js';
import { setThreadError } from './notices.js';
import { $ } from './dom.js';

const PAGE = 50;

let opener = null; // what had focus when the panel opened, to return to

/**
 * openThread shows the thread of message root in room, loading its
 * replies; focus goes to the panel's composer (or stays, with focus false).
 */
export function openThread(room, root, { focus = true } = {}) {
  if (!room || !(root > 0)) return;
  const t = state.thread;
  if (!t || t.room !== room || t.root !== root) {
    opener = document.activeElement;
    state.thread = newThread(room, root);
    setThreadError('');
    $('thread-composer').value = '';
    loadThread();
  }
  scheduleRender({ thread: true });
  if (focus) setTimeout(() => $('thread-composer').focus(), 0);
}

/** closeThread hides the panel and gives focus back to where it was. */
export function closeThread() {
  if (!state.thread) return;
  state.thread = null;
  setThreadError('');
  scheduleRender({ thread: true, messages: true });
  // The button that opened it, unless it was drawn again since: then the
  // room's composer.
  const back = opener && opener.isConnected && opener !== document.body ? opener : $('composer');
  opener = null;
  setTimeout(() => back.focus(), 0);
}

/** reloadThread loads the open thread again, after a reconnect. */
export function reloadThread() {
  const t = state.thread;
  if (!t) return;
  state.thread = newThread(t.room, t.root);
  loadThread();
}

async function loadThread() {
  const t = state.thread;
  if (!t || !connected()) return;
  t.loading = true;
  t.error = '';
  scheduleRender({ thread: true });
  try {
    const [page] = await Promise.all([
      conn.request('history', { room: t.room, thread: t.root, limit: PAGE }),
      heldMessage(t.room, t.root) ? null : fetchRoot(t),
    ]);
    if (state.thread !== t) return;
    addReplies(t, page.messages);
    settleOutboxFrom(page.messages);
    t.hasOlder = !!page.has_more;
    t.loaded = true;
  } catch (err) {
    if (state.thread === t) t.error = err.code === 'disconnected' ? '' : `Could not load the thread: ${errorText(err)}`;
  } finally {
    t.loading = false;
    scheduleRender({ thread: true });
  }
}

// fetchRoot reads the thread's first message when the room's messages do
// not hold it (a reply's thread opened from far down the room).
async function fetchRoot(t) {
  const page = await conn.request('history', { room: t.room, after_seq: t.root - 1, limit: 1 });
  const m = (page.messages || [])[0];
  if (m && m.seq === t.root && state.thread === t) t.rootMsg = { ...m };
}

/** loadOlderReplies fetches the page of replies before the oldest shown. */
export async function loadOlderReplies() {
  const t = state.thread;
  if (!t || !t.loaded || !t.hasOlder || t.loadingOlder || !connected()) return;
  t.loadingOlder = true;
  scheduleRender({ thread: true });
  try {
    const page = await conn.request('history', { room: t.room, thread: t.root, before_seq: t.store.oldestSeq, limit: PAGE });
    if (state.thread !== t) return;
    addReplies(t, page.messages);
    settleOutboxFrom(page.messages);
    t.hasOlder = !!page.has_more && (page.messages || []).length > 0;
  } catch (err) {
    if (state.thread === t && err.code !== 'disconnected') t.error = `Could not load older replies: ${errorText(err)}`;
  } finally {
    t.loadingOlder = false;
    scheduleRender({ thread: true });
  }
}

/** submitReply sends what the panel's composer holds as a reply to the thread. */
export function submitReply() {
  const t = state.thread;
  const ta = $('thread-composer');
  const text = ta.value;
  if (!t || isBlank(text)) return;
  if (charCount(text) > state.maxChars) {
    setThreadError(`That reply is too long: ${charCount(text)} of at most ${state.maxChars} characters.`);
    return;
  }
  if (!fitsFrame('send_message', { room: t.room, text, client_msg_id: 'x'.repeat(36), reply_to: t.root }, state.maxFrameBytes)) {
    setThreadError(TOO_BIG);
    return;
  }
  setThreadError('');
  ta.value = '';
  queueMessage(text, { room: t.room, replyTo: t.root });
  scheduleRender({ thread: true });
}
