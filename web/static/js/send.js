// Sending: what the user writes goes into the outbox (outbox.js, kept in
// localStorage) and is sent from there, one at a time and oldest first, so
// the room sees messages in the order they were written. An entry leaves
// the outbox once the server has it: acked, echoed live or seen in
// history; so nothing is lost across a reconnect or a reload, and nothing
// is shown twice.

import { state, noteMessage, isMine } from './state.js';
import { conn, connected } from './client.js';
import { classifySendError, sendPayload } from './outbox.js';
import { backoffDelay } from './backoff.js';
import { fitsFrame, errorText } from './format.js';
import { scheduleRender } from './render.js';
import { scheduleMarkRead } from './read.js';
import { setComposerError, setThreadError } from './notices.js';
import { stickToBottom } from './view-messages.js';

export const TOO_BIG = 'Too large to send: it has too many special characters. Shorten it.';

let flushing = false;
let flushTimer = null;
let flushAttempt = 0;

// settleOutbox drops an outbox entry that the server has stored (seen as an
// ack, a live message or in history), so it is never shown twice.
export function settleOutbox(clientMsgId) {
  if (state.outbox && state.outbox.remove(clientMsgId)) {
    state.inflight.delete(clientMsgId);
    scheduleRender({ messages: true, thread: true });
  }
}

export function settleOutboxFrom(msgs) {
  for (const m of msgs || []) if (m.client_msg_id && isMine(m)) settleOutbox(m.client_msg_id);
}

// settleHeld drops the entries that the rooms' messages already hold, for
// an outbox just read back from storage (another tab wrote it).
export function settleHeld() {
  if (!state.outbox) return;
  for (const e of state.outbox.entries.slice()) {
    const store = state.stores.get(e.room);
    if (store && store.findByClientMsgId(e.clientMsgId)) settleOutbox(e.clientMsgId);
  }
}

/**
 * queueMessage sends text (and files uploaded already) to the room shown,
 * or as a reply to the thread replyTo of room; it goes through the outbox
 * either way, so a message written offline is sent when the connection
 * returns.
 */
export function queueMessage(text, { room = state.current, replyTo, files = [] } = {}) {
  if (!room || !state.outbox) return;
  state.outbox.add(room, text, { replyTo, files });
  if (!replyTo) stickToBottom();
  scheduleRender({ messages: true });
  flushOutbox();
}

// flushOutbox sends pending entries one at a time, oldest first, so the
// room sees them in the order they were written.
export async function flushOutbox() {
  if (flushing || !connected() || !state.outbox) return;
  flushing = true;
  clearTimeout(flushTimer);
  try {
    for (;;) {
      const next = state.outbox.pending().find((e) => !state.inflight.has(e.clientMsgId));
      if (!next || !connected()) break;
      if (!state.rooms.has(next.room)) {
        state.outbox.update(next.clientMsgId, { state: 'failed', error: 'You are no longer in this room.' });
        continue;
      }
      const ok = await sendEntry(next);
      if (!ok) break;
    }
  } finally {
    flushing = false;
  }
}

async function sendEntry(e) {
  const payload = sendPayload(e);
  if (!fitsFrame('send_message', payload, state.maxFrameBytes)) {
    // Sending it would get the connection closed (1009) and be retried
    // forever, holding up every message behind it.
    state.outbox.update(e.clientMsgId, { state: 'failed', error: TOO_BIG });
    scheduleRender({ messages: e.room === state.current });
    return true;
  }
  state.inflight.add(e.clientMsgId);
  scheduleRender({ messages: e.room === state.current });
  try {
    const ack = await conn.request('send_message', payload);
    flushAttempt = 0;
    onAcked(ack && ack.message, e);
    return true;
  } catch (err) {
    state.inflight.delete(e.clientMsgId);
    if (!state.outbox.has(e.clientMsgId)) return true; // settled meanwhile (live echo)
    if (classifySendError(err.code) === 'retry') {
      if (err.code !== 'disconnected') {
        showSendError(e, errorText(err));
        clearTimeout(flushTimer);
        flushTimer = setTimeout(flushOutbox, backoffDelay(flushAttempt++, { base: 1000, cap: 15000 }));
      }
      scheduleRender({ messages: e.room === state.current });
      return false;
    }
    state.outbox.update(e.clientMsgId, { state: 'failed', error: errorText(err) });
    showSendError(e, errorText(err));
    scheduleRender({ messages: e.room === state.current });
    return true;
  }
}

// showSendError says why an entry was not sent where it was written: the
// thread panel's composer for a reply to the thread shown, else the room's.
function showSendError(e, text) {
  const t = state.thread;
  if (e.replyTo && t && t.room === e.room && t.root === e.replyTo) setThreadError(text);
  else if (e.room === state.current) setComposerError(text);
}

function onAcked(m, entry) {
  state.inflight.delete(entry.clientMsgId);
  state.outbox.remove(entry.clientMsgId);
  // Writing in a room means having read it.
  if (m && m.room && noteMessage(m) && m.room === state.current) scheduleMarkRead(m.room);
  showSendError(entry, '');
  scheduleRender({ messages: entry.room === state.current, sidebar: true, thread: !!entry.replyTo });
}

/** resetSend stops a retry that is waiting, on sign-out. */
export function resetSend() {
  clearTimeout(flushTimer);
  flushTimer = null;
  flushing = false;
  flushAttempt = 0;
}
