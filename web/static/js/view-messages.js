// The message list and the pending list of the room shown, drawn from
// state: messages grouped by author and day, gaps of missed messages,
// the edit box and delete confirmation of one's own messages, and what the
// outbox still holds. The scroll position is this view's own: it sticks to
// the newest message unless the user has scrolled up, and keeps the first
// visible message in place when older ones are added above.

import { state, isMine, online, roomTitlePrefix, heldMessage } from './state.js';
import { mayDelete, mayPost } from './roominfo.js';
import { $, reconcile, actionButton, textSpan } from './dom.js';
import { dayKey, dayLabel, timeLabel, fullTimeLabel, colorIndex, initials, groupsWith } from './format.js';
import { parse, render as renderMarkdown, emojiOnly } from './markdown.js';
import { attachmentsView, attachmentsSig } from './view-attachments.js';
import { repliesText, excerpt } from './thread.js';
import { reactionsBar, reactionsSig } from './view-reactions.js';

export const NEAR_BOTTOM_PX = 80;
/** LOAD_OLDER_PX: closer than this to the top, older messages are fetched. */
export const LOAD_OLDER_PX = 400;

// Elements are kept per message and rebuilt only when what they show
// changes, so focus, selection and scroll position survive a render.
let shownRoom = null;
let msgEls = new Map(); // seq -> li
let sepEls = new Map(); // day -> li
let gapEls = new Map(); // "from-to" -> li
let forceBottom = false;
// The room's first unread message when it was opened, and whether the
// list still has to be scrolled to it: a room opens at its "new messages"
// line, not at the bottom.
let unreadFrom = null;
let toUnread = false;
let newLine = null;
let needOlder = () => {};
let reveal = null; // {room, seq}: a message to bring into view and flash (a search result)

/** revealMessage scrolls to message seq of room once it is drawn there, and flashes it. */
export function revealMessage(room, seq) { reveal = { room, seq }; }

/** onNeedOlder sets what to call when the list is too short to scroll up. */
export function onNeedOlder(fn) { needOlder = fn; }

/** stickToBottom scrolls to the newest message at the next render. */
export function stickToBottom() { forceBottom = true; }

export function isNearBottom() {
  const sc = $('scroller');
  return sc.scrollHeight - sc.scrollTop - sc.clientHeight < NEAR_BOTTOM_PX;
}

/**
 * showJumpLatest offers the way down: to messages that came in below
 * (arrived), or to the latest one whenever the list is scrolled up.
 */
export function showJumpLatest(arrived = true) {
  const btn = $('jump-latest');
  if (arrived) btn.dataset.arrived = '1';
  btn.textContent = btn.dataset.arrived ? 'New messages ↓' : 'Jump to latest ↓';
  btn.hidden = false;
}

export function hideJumpLatest() {
  const btn = $('jump-latest');
  btn.hidden = true;
  delete btn.dataset.arrived;
}

/** messageElement is the list item of a message of the room shown. */
export function messageElement(seq) { return msgEls.get(seq); }

/** resetMessages empties the lists, on sign-out. */
export function resetMessages() {
  shownRoom = null;
  newLine = null;
  msgEls = new Map();
  sepEls = new Map();
  gapEls = new Map();
  $('messages').replaceChildren();
  $('pending-list').replaceChildren();
}

export function renderMessagePane() {
  if (shownRoom !== state.current) {
    // Another room: nothing of the last one is kept.
    resetMessages();
    shownRoom = state.current;
    forceBottom = true;
    hideJumpLatest();
    const room = state.current && state.rooms.get(state.current);
    unreadFrom = room && room.unread > 0 ? room.readSeq + 1 : null;
    toUnread = unreadFrom !== null;
  }
  const sc = $('scroller');
  const list = $('messages');
  const stick = !toUnread && (forceBottom || isNearBottom());
  forceBottom = false;
  // Keep the first visible message where it is when content changes above it.
  let anchor = null;
  let anchorTop = 0;
  if (!stick) {
    // Children are in vertical order: binary search the first one visible.
    const top = sc.getBoundingClientRect().top;
    const kids = list.children;
    let lo = 0, hi = kids.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (kids[mid].getBoundingClientRect().bottom > top) hi = mid; else lo = mid + 1;
    }
    // Anchor on a message, not a day separator: the separator of the oldest
    // day stays first when older messages of that day are prepended.
    while (lo < kids.length && !kids[lo].classList.contains('msg')) lo++;
    if (lo < kids.length) { anchor = kids[lo]; anchorTop = anchor.getBoundingClientRect().top; }
  }
  renderMessages();
  renderPending();
  const store0 = state.current && state.stores.get(state.current);
  if (toUnread && newLine && newLine.isConnected) {
    // Open at the first unread message, with a little of what came before.
    toUnread = false;
    sc.scrollTop = Math.max(0, newLine.offsetTop - list.offsetTop - sc.clientHeight / 4);
    if (!isNearBottom()) showJumpLatest(false);
  } else if (toUnread && store0 && store0.loaded) {
    toUnread = false; // the first unread is not loaded (or is one's own): the bottom, as before
    sc.scrollTop = sc.scrollHeight;
    hideJumpLatest();
  } else if (stick) {
    sc.scrollTop = sc.scrollHeight;
    hideJumpLatest();
  } else if (anchor && anchor.isConnected) {
    sc.scrollTop += anchor.getBoundingClientRect().top - anchorTop;
  }
  const found = reveal && reveal.room === state.current && msgEls.get(reveal.seq);
  if (found && found.isConnected) {
    reveal = null;
    toUnread = false;
    found.scrollIntoView({ block: 'center' });
    found.classList.remove('found');
    void found.offsetWidth; // restart the animation when shown again
    found.classList.add('found');
    setTimeout(() => found.classList.remove('found'), 2500);
    if (!isNearBottom()) showJumpLatest(false);
  }
  // A first page shorter than the window: fetch more so scrolling up is possible.
  const store = state.current && state.stores.get(state.current);
  if (store && store.loaded && !store.reachedStart && sc.scrollHeight <= sc.clientHeight + LOAD_OLDER_PX) {
    setTimeout(needOlder, 0);
  }
}

function setHistoryStatus(text) {
  $('history-status').textContent = text;
}

function renderMessages() {
  const name = state.current;
  const list = $('messages');
  const store = name && state.stores.get(name);
  if (!store) {
    reconcile(list, []);
    $('empty-room').hidden = true;
    setHistoryStatus(name ? 'Loading messages…' : 'Join or create a room to start.');
    return;
  }
  const now = new Date();
  const nodes = [];
  let prev = null;
  let prevDay = null;
  const seps = new Map();
  const gaps = new Map();
  let line = null;
  for (const it of store.items()) {
    if (it.kind === 'gap') {
      const key = `${it.gap.from}-${it.gap.to}`;
      const el = gapItem(it.gap, store);
      gaps.set(key, el);
      nodes.push(el);
      prev = null;
      continue;
    }
    const m = it.message;
    const d = new Date(m.sent_at);
    const dk = Number.isFinite(d.getTime()) ? dayKey(d) : 'unknown';
    if (dk !== prevDay) {
      // A list item of its own (a list holds only list items), read out
      // as the day's name.
      const el = sepEls.get(dk) || document.createElement('li');
      el.className = 'day-sep';
      el.dataset.day = dk;
      el.textContent = dk === 'unknown' ? '' : dayLabel(d, now);
      seps.set(dk, el);
      nodes.push(el);
      prevDay = dk;
      prev = null;
    }
    if (unreadFrom !== null && !line && m.seq >= unreadFrom && !isMine(m)) {
      line = newLine || document.createElement('li');
      line.className = 'new-line';
      line.textContent = 'New messages';
      nodes.push(line);
      prev = null;
    }
    // A reply starts a group of its own, so its pointer to the thread
    // reads under its author's name.
    nodes.push(messageItem(m, groupsWith(prev, m) && !prev.deleted && !(m.reply_to > 0)));
    prev = m;
  }
  newLine = line;
  sepEls = seps;
  gapEls = gaps;
  // Drop elements of messages that no longer exist (never happens today, but cheap).
  for (const seq of msgEls.keys()) if (!store.get(seq)) msgEls.delete(seq);
  reconcile(list, nodes);

  const pendingCount = state.outbox ? state.outbox.list(name).length : 0;
  $('empty-room').hidden = !(store.loaded && store.size === 0 && pendingCount === 0 && !store.gaps.length);
  if (store.loading && !store.size) setHistoryStatus('Loading messages…');
  else if (state.loadingOlder) setHistoryStatus('Loading older messages…');
  else if (store.loaded && store.reachedStart && store.size) setHistoryStatus(`This is the start of ${roomTitlePrefix(name)}.`);
  else if (!store.loaded && !online()) setHistoryStatus('Messages will load when the connection returns.');
  else if (store.loaded) setHistoryStatus('');
  else setHistoryStatus(state.historyNote);
}

function gapItem(gap, store) {
  const key = `${gap.from}-${gap.to}`;
  let li = gapEls.get(key);
  if (!li) {
    li = document.createElement('li');
    li.className = 'gap-sep';
    const btn = document.createElement('button');
    btn.type = 'button';
    btn.className = 'gap-btn';
    btn.dataset.from = String(gap.from);
    btn.dataset.to = String(gap.to);
    li.append(btn);
  }
  const btn = li.firstChild;
  const n = gap.to - gap.from + 1;
  const busy = store.syncing || store.fillingGap;
  btn.disabled = !!busy;
  btn.textContent = busy ? 'Loading missed messages…' : `${n} earlier message${n === 1 ? '' : 's'} not loaded · Load`;
  return li;
}

/**
 * messageItem is the list item of message m, kept in cache by seq and
 * drawn again only when what it shows changed. In the thread panel
 * (inThread) a message shows no thread pointer or summary and offers only
 * reactions; in the room, every message can be replied to and reacted to,
 * and one's own edited and deleted.
 */
export function messageItem(m, cont, cache = msgEls, { inThread = false } = {}) {
  const own = isMine(m);
  const editing = !inThread && state.editing && state.editing.room === m.room && state.editing.seq === m.seq ? state.editing : null;
  const confirming = !inThread && !!(state.confirmDelete && state.confirmDelete.room === m.room && state.confirmDelete.seq === m.seq);
  const pointer = !inThread && m.reply_to > 0 ? replyPointerText(m) : '';
  // Owners moderate: they may delete others' messages; nobody edits or
  // replies in an archived room.
  const room = state.rooms.get(m.room);
  const canDelete = !inThread && !editing && mayDelete(room, m, state.me && state.me.id);
  const canEdit = !inThread && own && !m.deleted && !editing && mayPost(room);
  const canReply = !inThread && mayPost(room);
  const sig = [m.text, m.deleted, m.edited_at, attachmentsSig(m.attachments), cont, own, canDelete, canEdit, canReply,
    editing ? `e${editing.error || ''}${editing.saving ? 's' : ''}` : '', confirming,
    pointer, inThread ? '' : JSON.stringify(m.replies || null), reactionsSig(m)].join('\u0000');
  let li = cache.get(m.seq);
  if (li && li._sig === sig) return li;
  const focusedAction = li && li.contains(document.activeElement) ? document.activeElement.dataset.action : null;
  if (!li) {
    li = document.createElement('li');
    cache.set(m.seq, li);
  }
  li._sig = sig;
  li.className = `msg${own ? ' own' : ''}${cont ? ' cont' : ''}${m.deleted ? ' deleted' : ''}${pointer ? ' reply' : ''}`;
  li.dataset.seq = String(m.seq);
  li.dataset.id = m.id || '';
  li.dataset.author = (m.from && m.from.username) || '';
  if (m.client_msg_id) li.dataset.clientMsgId = m.client_msg_id;

  const author = (m.from && m.from.username) || 'unknown';
  const sent = new Date(m.sent_at);
  const validTime = Number.isFinite(sent.getTime());

  const contTime = document.createElement('span');
  contTime.className = 'cont-time';
  contTime.setAttribute('aria-hidden', 'true');
  contTime.textContent = validTime ? timeLabel(sent) : '';

  const main = document.createElement('div');
  main.className = 'msg-main';
  const head = messageHead(author, own);
  const time = document.createElement('time');
  time.className = 'time';
  if (validTime) {
    time.dateTime = sent.toISOString();
    time.textContent = timeLabel(sent);
    time.title = fullTimeLabel(sent);
  }
  head.append(time);

  const body = document.createElement('div');
  body.className = 'msg-body';
  if (pointer) body.append(replyPointer(pointer));
  if (editing) {
    body.append(editBox(editing));
  } else {
    body.append(m.deleted ? textSpan('text', 'This message was deleted.') : richText(m.text));
    const files = m.deleted ? null : attachmentsView(m.attachments);
    if (files) body.append(files);
    if (m.edited_at && !m.deleted) {
      const ed = textSpan('edited', '(edited)');
      const et = new Date(m.edited_at);
      if (Number.isFinite(et.getTime())) ed.title = `Edited ${fullTimeLabel(et)}`;
      body.append(ed);
    }
  }
  main.append(head, body);
  const bar = reactionsBar(m, state.me && state.me.id);
  if (bar) main.append(bar);
  if (!inThread && m.replies && m.replies.count > 0) main.append(threadSummary(m.replies));
  const parts = [contTime, avatar(author), main];

  if (!m.deleted && !editing) {
    const actions = document.createElement('div');
    actions.className = 'msg-actions';
    const react = actionButton('msg-react', 'react', 'React', 'React to this message');
    react.setAttribute('aria-haspopup', 'dialog');
    react.setAttribute('aria-expanded', 'false');
    if (inThread) {
      actions.append(react);
    } else if (confirming) {
      const q = textSpan('visually-hidden', 'Delete this message?');
      actions.append(q,
        actionButton('msg-delete-confirm', 'delete-confirm', 'Delete', 'Confirm: delete this message'),
        actionButton('msg-delete-cancel', 'delete-cancel', 'Cancel', 'Cancel: keep this message'));
    } else {
      actions.append(react);
      if (canReply) actions.append(actionButton('msg-reply', 'reply', 'Reply', 'Reply in thread'));
      if (canEdit) actions.append(actionButton('msg-edit', 'edit', 'Edit', 'Edit message'));
      if (canDelete) {
        actions.append(actionButton('msg-delete', 'delete', 'Delete', own ? 'Delete message' : `Delete ${author}'s message`));
      }
    }
    parts.push(actions);
  }
  li.replaceChildren(...parts);
  if (focusedAction) {
    const again = li.querySelector(`[data-action="${focusedAction}"]`) || li.querySelector('.msg-actions button');
    if (again) queueMicrotask(() => again.focus());
  }
  if (editing) {
    const ta = li.querySelector('.edit-input');
    queueMicrotask(() => {
      if (document.activeElement !== ta) {
        ta.focus();
        ta.setSelectionRange(ta.value.length, ta.value.length);
      }
    });
  }
  return li;
}

// replyPointerText is what a reply in the room's stream says of its
// thread: whose message it answers and how that began (Mattermost shows
// replies in the channel this way), or only that it is a reply when that
// message is not held.
function replyPointerText(m) {
  const root = heldMessage(m.room, m.reply_to);
  if (!root) return 'Replied to a thread';
  const who = (root.from && root.from.username) || 'someone';
  if (root.deleted) return `Replied to a deleted message of ${who}`;
  return `Replied to ${who}: ${excerpt(root.text, 60)}`;
}

function replyPointer(text) {
  const b = actionButton('reply-link', 'open-thread', `↳ ${text}`, `${text} (open the thread)`);
  b.title = 'Open the thread';
  return b;
}

// threadSummary is the line under a message that has replies: the latest
// repliers' avatars and the count, a button that opens the thread.
function threadSummary(replies) {
  const b = document.createElement('button');
  b.type = 'button';
  b.className = 'thread-summary';
  b.dataset.action = 'open-thread';
  const names = (replies.users || []).map((u) => u.username);
  const faces = document.createElement('span');
  faces.className = 'thread-faces';
  faces.setAttribute('aria-hidden', 'true');
  for (const name of names) {
    const a = avatar(name);
    a.classList.add('tiny');
    faces.append(a);
  }
  const count = textSpan('thread-count', repliesText(replies));
  const view = textSpan('thread-view', 'View thread');
  // The name is what it shows, and then who replied last, for screen
  // readers (the faces say it to the eye).
  b.append(faces, count, ' ', view);
  if (names.length) {
    const who = textSpan('visually-hidden', `, latest from ${names.join(', ')}`);
    b.append(who);
  }
  return b;
}

export function avatar(username) {
  const el = document.createElement('div');
  el.className = `avatar c${colorIndex(username)}`;
  el.setAttribute('aria-hidden', 'true');
  el.textContent = initials(username);
  return el;
}

// messageHead is the line above a message's text: who wrote it, and a
// "you" tag on one's own.
export function messageHead(author, own) {
  const head = document.createElement('div');
  head.className = 'msg-head';
  const a = textSpan('author', author);
  head.append(a);
  if (own) {
    const you = textSpan('you-tag', 'you');
    head.append(you);
  }
  return head;
}

/**
 * richText shows a message's text with its Markdown (markdown.js: DOM
 * nodes only, never HTML). A text of one paragraph stays inline, as plain
 * text was; emoji alone show larger; a mention of the reader (or @room) is
 * highlighted.
 */
function richText(text) {
  const tree = parse(text);
  const me = state.me ? state.me.username.toLowerCase() : '';
  const isMe = name => name.toLowerCase() === me || name === 'room';
  const inline = tree.length === 1 && tree[0].type === 'p';
  const el = document.createElement(inline ? 'span' : 'div');
  el.className = 'text rich' + (emojiOnly(text) ? ' emoji-only' : '');
  el.append(renderMarkdown(inline ? tree[0].children : tree, document, isMe));
  return el;
}

function editBox(editing) {
  const box = document.createElement('div');
  box.className = 'edit-box';
  const ta = document.createElement('textarea');
  ta.className = 'edit-input';
  ta.setAttribute('aria-label', 'Edit message');
  ta.value = editing.draft;
  ta.rows = Math.min(10, Math.max(2, editing.draft.split('\n').length));
  const row = document.createElement('div');
  row.className = 'edit-row';
  const save = actionButton('msg-edit-save btn small primary', 'edit-save', 'Save', 'Save changes');
  const cancel = actionButton('msg-edit-cancel btn small ghost', 'edit-cancel', 'Cancel', 'Cancel editing');
  save.disabled = !!editing.saving;
  const hint = document.createElement('span');
  hint.textContent = 'Enter to save · Esc to cancel';
  row.append(save, cancel, hint);
  box.append(ta, row);
  if (editing.error) {
    const err = document.createElement('p');
    err.className = 'edit-error';
    err.setAttribute('role', 'alert');
    err.textContent = editing.error;
    box.append(err);
  }
  return box;
}

// renderPending shows what the outbox holds for the room: sending, waiting
// for the connection, or failed with a way to retry or discard. An entry
// the room's messages already hold is not shown twice.
function renderPending() {
  const name = state.current;
  const list = $('pending-list');
  if (!name || !state.outbox) { list.replaceChildren(); return; }
  const store = state.stores.get(name);
  list.replaceChildren(...pendingItems(state.outbox.list(name), store));
}

/**
 * pendingItems are the list items of outbox entries, leaving out those
 * that store already holds (sent, and not to be shown twice).
 */
export function pendingItems(entries, store) {
  const up = online();
  const items = [];
  let prevPending = false;
  for (const e of entries) {
    if (store && store.findByClientMsgId(e.clientMsgId)) continue;
    const li = document.createElement('li');
    li.className = `msg own pending${e.state === 'failed' ? ' failed' : ''}${prevPending ? ' cont' : ''}`;
    prevPending = true;
    li.dataset.clientMsgId = e.clientMsgId;
    const st = document.createElement('span');
    st.className = 'pending-state';
    if (e.state === 'failed') {
      const why = document.createElement('span');
      why.textContent = `Not sent: ${e.error || 'error'}`;
      st.append(why,
        actionButton('pending-retry link-btn', 'retry', 'Retry', 'Retry sending this message'),
        actionButton('pending-discard link-btn', 'discard', 'Discard', 'Discard this message'));
    } else {
      if (up) {
        const sp = document.createElement('span');
        sp.className = 'spinner';
        sp.setAttribute('aria-hidden', 'true');
        st.append(sp);
      }
      const t = document.createElement('span');
      t.textContent = up ? 'Sending…' : 'Waiting for connection';
      st.append(t);
    }
    const main = document.createElement('div');
    main.className = 'msg-main';
    const body = document.createElement('div');
    body.className = 'msg-body';
    body.append(textSpan('text', e.text || (e.files || []).map((f) => f.name).join(', ')), st);
    main.append(messageHead(state.me.username, false), body);
    li.append(avatar(state.me.username), main);
    items.push(li);
  }
  return items;
}
