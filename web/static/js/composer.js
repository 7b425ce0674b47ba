// The composer and the actions on one's own messages: writing (with a
// character counter and a draft kept per room), sending, typing notices,
// editing and deleting.

import { state, isMine } from './state.js';
import { conn, connected } from './client.js';
import { UPDATED } from './store.js';
import { counterState, isBlank, charCount, fitsFrame, errorText } from './format.js';
import { scheduleRender } from './render.js';
import { queueMessage, TOO_BIG } from './send.js';
import { setComposerError } from './notices.js';
import { messageElement } from './view-messages.js';
import { uploading, readyFiles, takeFiles } from './upload.js';
import { $ } from './dom.js';

const TYPING_SEND_EVERY_MS = 3000;

export function autosize() {
  const ta = $('composer');
  ta.style.height = 'auto'; // CSSOM, allowed by the CSP (unlike a style attribute)
  ta.style.height = `${Math.min(ta.scrollHeight, Math.round(window.innerHeight * 0.4))}px`;
}

function updateCounter() {
  const c = counterState($('composer').value, state.maxChars);
  const el = $('char-count');
  el.hidden = !c.visible;
  el.textContent = c.over ? `${-c.remaining} too many` : `${c.remaining} left`;
  el.classList.toggle('over', c.over);
  $('send').disabled = c.over;
}

// Drafts outlive a reload: they are kept in localStorage, per user, as
// one object of room -> text, written whenever one changes.
let draftsOf = null; // the user whose stored drafts state.drafts holds

function draftsKey() { return `chatd.drafts.${state.me.id}`; }

function loadDrafts() {
  if (!state.me || draftsOf === state.me.id) return;
  draftsOf = state.me.id;
  try {
    const stored = JSON.parse(window.localStorage.getItem(draftsKey()) || '{}');
    for (const [room, text] of Object.entries(stored)) {
      if (typeof text === 'string' && text !== '' && !state.drafts.has(room)) state.drafts.set(room, text);
    }
  } catch {
    // Unreadable or unavailable storage: drafts last for this page only.
  }
}

/** storeDrafts writes the drafts of the signed-in user to localStorage. */
export function storeDrafts() {
  if (!state.me) return;
  try {
    const obj = {};
    for (const [room, text] of state.drafts) if (text) obj[room] = text;
    if (Object.keys(obj).length) window.localStorage.setItem(draftsKey(), JSON.stringify(obj));
    else window.localStorage.removeItem(draftsKey());
  } catch {
    // As above.
  }
}

/** saveDraft keeps what the composer holds for room. */
export function saveDraft(room) {
  state.drafts.set(room, $('composer').value);
  storeDrafts();
}

/** restoreDraft puts room's draft (or nothing) into the composer. */
export function restoreDraft(room) {
  loadDrafts();
  $('composer').value = (room && state.drafts.get(room)) || '';
  autosize();
  updateCounter();
}

export function submitComposer() {
  const ta = $('composer');
  const text = ta.value;
  if (state.current && uploading(state.current)) {
    setComposerError('A file is still uploading: send once it is ready.');
    return;
  }
  const files = state.current ? readyFiles(state.current) : [];
  if (isBlank(text) && files.length === 0) return;
  if (!state.current) {
    setComposerError('Join a room first.');
    return;
  }
  if (charCount(text) > state.maxChars) {
    setComposerError(`That message is too long: ${charCount(text)} of at most ${state.maxChars} characters.`);
    return;
  }
  if (!fitsFrame('send_message', { room: state.current, text, client_msg_id: 'x'.repeat(36) }, state.maxFrameBytes)) {
    setComposerError(TOO_BIG);
    return;
  }
  setComposerError('');
  ta.value = '';
  state.drafts.delete(state.current);
  storeDrafts();
  state.lastTypingSent = 0;
  autosize();
  updateCounter();
  queueMessage(isBlank(text) ? '' : text, { files });
  takeFiles(state.current);
}

export function onComposerInput() {
  autosize();
  updateCounter();
  const text = $('composer').value;
  if (state.current) {
    state.drafts.set(state.current, text);
    storeDrafts();
  }
  if (!isBlank(text) && connected() && state.current) {
    const now = Date.now();
    if (now - state.lastTypingSent >= TYPING_SEND_EVERY_MS) {
      state.lastTypingSent = now;
      conn.send('typing', { room: state.current });
    }
  }
}

/** editLastOwn starts editing the newest own message (ArrowUp in an empty composer). */
export function editLastOwn() {
  const store = state.current && state.stores.get(state.current);
  if (!store) return false;
  for (let i = store.messages.length - 1; i >= 0; i--) {
    const m = store.messages[i];
    if (isMine(m) && !m.deleted) {
      startEdit(m);
      return true;
    }
  }
  return false;
}

export function startEdit(m) {
  state.confirmDelete = null;
  state.editing = { room: m.room, seq: m.seq, draft: m.text, error: '', saving: false };
  scheduleRender({ messages: true });
}

export function cancelEdit() {
  const seq = state.editing && state.editing.seq;
  state.editing = null;
  scheduleRender({ messages: true });
  focusMessageAction(seq, 'edit');
}

/** askDelete shows the delete confirmation of a message, focused. */
export function askDelete(m) {
  state.editing = null;
  state.confirmDelete = { room: m.room, seq: m.seq };
  scheduleRender({ messages: true });
  focusMessageAction(m.seq, 'delete-confirm');
}

/** cancelDelete closes the delete confirmation, if one is open. */
export function cancelDelete() {
  if (!state.confirmDelete) return;
  const seq = state.confirmDelete.seq;
  state.confirmDelete = null;
  scheduleRender({ messages: true });
  focusMessageAction(seq, 'delete');
}

// focusMessageAction focuses a button of a message once it is drawn, or the
// composer if the message has none.
function focusMessageAction(seq, action) {
  setTimeout(() => {
    const li = seq && messageElement(seq);
    const b = li && li.querySelector(`[data-action="${action}"]`);
    if (b) b.focus();
    else if (action !== 'delete-confirm') $('composer').focus();
  }, 0);
}

export async function saveEdit() {
  const ed = state.editing;
  if (!ed || ed.saving) return;
  const store = state.stores.get(ed.room);
  const m = store && store.get(ed.seq);
  if (!m) { state.editing = null; scheduleRender({ messages: true }); return; }
  const text = ed.draft;
  if (text === m.text) { cancelEdit(); return; }
  if (isBlank(text)) { ed.error = 'A message cannot be empty. Delete it instead.'; scheduleRender({ messages: true }); return; }
  if (charCount(text) > state.maxChars) { ed.error = `Too long: at most ${state.maxChars} characters.`; scheduleRender({ messages: true }); return; }
  if (!connected()) { ed.error = 'Not connected. Try again when the connection returns.'; scheduleRender({ messages: true }); return; }
  ed.saving = true;
  ed.error = '';
  scheduleRender({ messages: true });
  try {
    const ack = await conn.request('edit_message', { room: ed.room, seq: ed.seq, text });
    if (ack && ack.message) store.insert(ack.message) === UPDATED || store.update(ack.message);
    if (state.editing === ed) state.editing = null;
    focusMessageAction(ed.seq, 'edit');
  } catch (err) {
    ed.saving = false;
    ed.error = errorText(err);
  }
  scheduleRender({ messages: true });
}

export async function deleteMessage(seq) {
  const room = state.current;
  const store = state.stores.get(room);
  state.confirmDelete = null;
  scheduleRender({ messages: true });
  if (!connected()) {
    setComposerError('Not connected. Delete again when the connection returns.');
    return;
  }
  try {
    const ack = await conn.request('delete_message', { room, seq });
    if (store) {
      if (ack && ack.message) store.insert(ack.message);
      store.markDeleted(seq);
    }
    $('composer').focus();
  } catch (err) {
    setComposerError(`Could not delete: ${errorText(err)}`);
  }
  scheduleRender({ messages: true });
}
