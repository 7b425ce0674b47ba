// chatd web app: boot, sign-in and sign-out, and the wiring of the page's
// events to the modules that handle them. Each module has one job:
//
//   state.js         the app's state and the updates that change it (no DOM)
//   events.js        the connection's welcome and events -> state
//   rooms.js         the room shown; fetching history, missed messages, presence
//   send.js          the outbox: sending in order, settling what the server has
//   read.js          read markers
//   composer.js      writing, editing and deleting one's own messages
//   upload.js        files: attach, drop, paste, upload with progress (issue 9)
//   replies.js       the thread panel: opening a thread, its replies, replying
//   react.js         adding and removing one's reactions
//   forms.js         the sidebar's join, create, invite, message and leave
//   directory.js     the room directory: search, pages, join from there
//   roomadmin.js     the room's details dialog: members, and what owners do there
//   roominfo.js      the rules and updates of rooms people run (no DOM)
//   auth.js          the sign-in screen and the session over HTTP
//   render.js        draws what changed, once per microtask, from state:
//   view-sidebar.js, view-header.js, view-messages.js, view-thread.js,
//   view-reactions.js, view-attachments.js, view-directory.js,
//   view-members.js  (they only read state)
//   notices.js, drawer.js, picker.js, dom.js  small DOM helpers
//   autocomplete.js  @ suggestions in the composer (mentions.js: the rules)
//   notify.js        browser notifications and per-room mute
//   find.js          search and jumping to a result; view-search.js draws it (snippet.js: the rules)
//
// The DOM-free logic (state.js, store.js, outbox.js, backoff.js, sync.js,
// format.js, conn.js, thread.js, reactions.js, mentions.js, snippet.js) is
// unit-tested with `node --test web/jstest/`.
//
// Every piece of user content goes into the page with textContent or as an
// attribute value, never as HTML. The page runs under a strict CSP: no inline
// scripts or styles (el.style via CSSOM only).
//
// Stable selectors for browser tests
// ----------------------------------
// Auth screen (#auth-view):
//   #login-username, #login-password  inputs
//   #login-submit                     "Sign in" (submit; Enter in a field does the same)
//   #register-submit                  "Create account"
//   #auth-error                       inline error (role=alert), hidden when empty
// App (#app-view, shown once signed in):
//   #conn-state[data-state]           connecting | online | offline | stopped; #conn-text;
//                                     #reconnect-now ("Retry now", while offline)
//   #room-list  button.room-btn[data-room="<name>"][data-unread="<n>"]  rooms (not DMs);
//               the current one has aria-current="page"; .badge holds the unread count
//   #dm-list    button.room-btn[data-room="dm:a:b"][data-user="<peer>"]  direct messages
//   #join-room-input + #join-room-submit          join a room by name; one that does not exist asks
//               #join-create ("There is no public room #x. Create it?"): #join-create-yes / #join-create-no
//   #open-directory  opens dialog#directory: #directory-search, #directory-list li.dir-room[data-dir-room]
//               (.dir-name, .dir-topic, .dir-meta) with button.dir-join ("Join"/"Open"), #directory-more,
//               #directory-status, #directory-close
//   #room-topic (header, hidden without a topic); #room-details "Members N" (#member-count) opens
//               dialog#room-dialog: #room-dialog-topic, #room-dialog-description, owners' #room-about-form
//               (#room-topic-input, #room-description-input, #room-about-save) and #room-archive
//               ("Archive room"/"Unarchive room"); #members-list li.member[data-user][data-role][data-online]
//               with owners' button.member-role ("Make owner"/"Make member"), .member-remove ->
//               .member-remove-confirm / .member-remove-cancel; #members-more, #room-dialog-status
//   #archived-note  shown instead of #composer-form in an archived room
//   #leave-room  asks first: its text becomes "Leave #x?"; a second click leaves
//   #create-room-name + #create-room-private (checkbox) + #create-room-submit
//   #invite-form (shown to the owners of a private, non-DM current room): #invite-user + #invite-submit
//   #dm-user + #dm-submit                         "New message to <username>" (open_dm)
//   #side-status                                  result/error of the forms above (.error / .ok)
//   #room-name                                    current room's label; #leave-room
//   #online-count ("3 online"), #online-list span[data-user="<username>"]
//   #messages   li.msg[data-seq][data-id][data-author]  (.own for mine, .deleted, .cont)
//               each with .author, time.time, .text, .edited ("(edited)") when edited;
//               own messages: button.msg-edit, button.msg-delete (owners: .msg-delete on all) -> button.msg-delete-confirm /
//               .msg-delete-cancel; while editing: textarea.edit-input, .msg-edit-save,
//               .msg-edit-cancel, .edit-error
//               li.day-sep[data-day] day separators; li.gap-sep > button.gap-btn missed messages
//               every message: button.msg-react (opens #emoji-picker), button.msg-reply (opens its thread);
//               .reactions > button.reaction[data-emoji][aria-pressed] (.me when mine) with
//               .reaction-count; a message with replies: button.thread-summary (.thread-count
//               "3 replies"); a reply (li.msg.reply): button.reply-link to its thread
//   #emoji-picker  button.emoji-choice[data-emoji]; Escape closes it
//   #thread-panel[data-room][data-root]  (hidden when closed): #thread-close, #thread-root li.msg,
//               #thread-count, #thread-older, #thread-replies li.msg[data-seq], #thread-pending,
//               #thread-composer, #thread-send, #thread-error
//   #pending-list li.msg.pending[data-client-msg-id] (not yet acked; .failed with
//               button.pending-retry / button.pending-discard)
//   #history-status  "Loading…" / "This is the start of #room"; #empty-room
//   #typing     "alice is typing…"
//   #composer (textarea), #send, #char-count (shown from 3500 chars; .over past 4000),
//   #attach (opens #file-input), #upload-tray li.upload[data-status=uploading|done|failed]
//               with progress.upload-progress, .upload-error, button.upload-retry/.upload-remove;
//               #main.dropping while files are dragged over it
//   .msg .attachments a.att-image[data-file-id] > img (thumbnail; opens the full image),
//               a.att-file[data-file-id] (.att-name, .att-size; downloads)
//   #composer-error (role=alert)
//   #jump-latest  "New messages ↓" when scrolled up
//   #me-name, #logout, #notify-enable ("Enable notifications", while the browser would ask)
//   #mute-room[aria-pressed]  mutes the room shown; a muted room's .room-btn has .muted
//   #mention-list li.mention-option[role=option][data-username][aria-selected]  @ suggestions;
//               #composer is their combobox (aria-expanded, aria-activedescendant)
//   #search-open (Ctrl/Cmd+K), #search-panel: #search-input, #search-this-room, #search-from,
//               #search-submit, #search-close, #search-status, #search-more,
//               #search-results button.search-result[data-room][data-seq] (.search-snippet mark)
//   li.msg.found  the message a search result jumped to, flashed
//   #sidebar-toggle  opens the rooms drawer below 720 px wide (the sidebar is always shown above)
//   #live-region  aria-live announcements of new messages
// document.title is "(N) chatd" with N the total unread count.

import { state, resetState, online, heldMessage } from './state.js';
import { ADDED } from './store.js';
import { Outbox } from './outbox.js';
import { Connection } from './conn.js';
import { backoffDelay } from './backoff.js';
import { conn, setConn } from './client.js';
import { $ } from './dom.js';
import { scheduleRender } from './render.js';
import { fetchMe, signedInHint, setSignedInHint, showAuth, doAuth, signOut } from './auth.js';
import { handleWelcome, handleEvent, isOtherUser, resetEvents } from './events.js';
import { openRoom, setCurrent, loadOlder, fillGap, readPref, resetRooms } from './rooms.js';
import { flushOutbox, settleHeld, resetSend } from './send.js';
import { scheduleMarkRead, resetRead } from './read.js';
import { openThread, closeThread, loadOlderReplies, submitReply } from './replies.js';
import { react, toggleReaction } from './react.js';
import { openPicker, closePicker, pickerOpen } from './picker.js';
import { rootOf } from './thread.js';
import {
  autosize, submitComposer, onComposerInput, editLastOwn, startEdit, cancelEdit, saveEdit, askDelete, cancelDelete, deleteMessage,
} from './composer.js';
import { joinRoom, confirmCreate, cancelCreate, createRoom, invite, openDM, leaveRoom } from './forms.js';
import { openDirectory, closeDirectory, onSearchInput, moreRooms, joinFromDirectory } from './directory.js';
import {
  openRoomDialog, closeRoomDialog, onRoomDialogClosed, loadMembers, saveAbout, toggleArchive, onMembersClick,
} from './roomadmin.js';
import { setComposerError, clearNotices } from './notices.js';
import { openDrawer, closeDrawer, drawerOpen } from './drawer.js';
import { renderMe, resetHeader } from './view-header.js';
import { resetSidebar } from './view-sidebar.js';
import { wireUploads, resetUploads } from './upload.js';
import { resetMessages, onNeedOlder, isNearBottom, hideJumpLatest, showJumpLatest, LOAD_OLDER_PX } from './view-messages.js';
import * as mentionList from './autocomplete.js';
import { enableNotifications, renderNotifyControl, toggleMute, resetNotify } from './notify.js';
import { openSearch, closeSearch, runSearch, jumpTo, resetFind } from './find.js';
import { resetSearchView } from './view-search.js';

// ---------------------------------------------------------------- boot

boot();

async function boot() {
  wireStaticHandlers();
  onNeedOlder(loadOlder);
  if (!signedInHint()) return showAuth();
  let attempt = 0;
  for (;;) {
    const r = await fetchMe();
    if (r.status === 'ok') return startApp(r.user);
    if (r.status === 'unauthorized') return showAuth();
    $('boot-text').textContent = 'Cannot reach chatd. Retrying…';
    await sleep(backoffDelay(attempt++));
  }
}

function sleep(ms) { return new Promise((r) => setTimeout(r, ms)); }

// ---------------------------------------------------------------- sign-in and sign-out

function startApp(user) {
  resetAll();
  setSignedInHint(true);
  state.me = user;
  state.outbox = new Outbox(safeStorage(), `chatd.outbox.${user.id}`);
  $('boot').hidden = true;
  $('auth-view').hidden = true;
  $('app-view').hidden = false;
  $('skip-link').hidden = false;
  renderMe();
  renderNotifyControl();
  const c = new Connection({
    url: () => `${location.protocol === 'https:' ? 'wss:' : 'ws:'}//${location.host}/ws`,
    WebSocket: window.WebSocket,
    checkSession: async () => {
      const r = await fetchMe();
      return r.status;
    },
    onState: (s) => {
      state.connStatus = s;
      scheduleRender({ conn: true, messages: true });
    },
    onWelcome: (w) => {
      // Another tab signed in as someone else (the cookie is shared): follow it.
      if (isOtherUser(w)) startApp(w.user);
      else handleWelcome(w);
    },
    onEvent: handleEvent,
    onUnauthorized: () => {
      resetAll();
      showAuth('Your session has ended. Please sign in again.');
    },
  });
  setConn(c);
  c.start();
  // Show what is pending from before a reload right away.
  const saved = readPref('room');
  if (saved) setCurrent(saved, { quiet: true });
  scheduleRender({ sidebar: true, header: true, messages: true, conn: true });
}

// resetAll stops the connection and every timer, and forgets the user.
function resetAll() {
  if (conn) conn.stop();
  setConn(null);
  resetEvents();
  resetRead();
  resetSend();
  resetUploads();
  resetRooms();
  closeDirectory();
  closeRoomDialog();
  resetState();
  resetHeader();
  resetSidebar();
  resetMessages();
  closePicker(false);
  clearNotices();
  $('thread-composer').value = '';
  resetNotify();
  resetFind();
  resetSearchView();
  mentionList.resetAutocomplete();
  $('composer').value = '';
  document.title = 'chatd';
}

async function signIn(kind) {
  const user = await doAuth(kind);
  if (user) startApp(user);
}

async function logout() {
  $('logout').disabled = true;
  await signOut();
  $('logout').disabled = false;
  resetAll();
  showAuth('');
}

function safeStorage() {
  try {
    const s = window.localStorage;
    s.getItem('chatd.probe');
    return s;
  } catch {
    return null;
  }
}

// ---------------------------------------------------------------- wiring

// swallowEnter: an Enter we handled must not also insert a line break. A
// real keyboard's prevented keydown already stops it; synthetic input (CDP,
// some IMEs and assistive tools) sends the character as a separate event.
let swallowEnter = false;

// sendKey sends with submit on a plain Enter (Shift+Enter is a new line),
// as both composers do; it reports whether it did.
function sendKey(e, submit) {
  if (e.key !== 'Enter' || e.shiftKey || e.altKey || e.ctrlKey || e.metaKey || e.isComposing) return false;
  e.preventDefault();
  swallowEnter = true;
  submit();
  return true;
}

function wireStaticHandlers() {
  document.addEventListener('keypress', (e) => {
    if (swallowEnter && e.key === 'Enter') e.preventDefault();
  }, true);
  document.addEventListener('beforeinput', (e) => {
    if (swallowEnter && (e.inputType === 'insertLineBreak' || e.inputType === 'insertParagraph' ||
        (typeof e.data === 'string' && /^[\r\n]+$/.test(e.data)))) e.preventDefault();
  }, true);
  document.addEventListener('keyup', (e) => { if (e.key === 'Enter') swallowEnter = false; }, true);

  $('auth-form').addEventListener('submit', (e) => { e.preventDefault(); signIn('login'); });
  $('register-submit').addEventListener('click', () => signIn('register'));
  $('logout').addEventListener('click', logout);
  $('reconnect-now').addEventListener('click', () => conn && conn.retryNow());

  const onRoomClick = (e) => {
    const b = e.target.closest('.room-btn');
    if (b) openRoom(b.dataset.room);
  };
  $('room-list').addEventListener('click', onRoomClick);
  $('dm-list').addEventListener('click', onRoomClick);

  $('join-room-form').addEventListener('submit', joinRoom);
  $('join-create-yes').addEventListener('click', confirmCreate);
  $('join-create-no').addEventListener('click', cancelCreate);
  wireRoomDialogs();
  $('create-room-form').addEventListener('submit', createRoom);
  $('invite-form').addEventListener('submit', invite);
  $('dm-form').addEventListener('submit', openDM);
  $('leave-room').addEventListener('click', leaveRoom);

  $('composer-form').addEventListener('submit', (e) => { e.preventDefault(); submitComposer(); });
  const composer = $('composer');
  composer.addEventListener('keydown', (e) => {
    if (mentionList.onKeydown(e)) {
      // The suggestions took the key (a pick with Enter must not also send).
      e.preventDefault();
      if (e.key === 'Enter') swallowEnter = true;
      return;
    }
    if (sendKey(e, submitComposer)) return;
    if (e.key === 'ArrowUp' && composer.value === '' && !e.shiftKey) {
      if (editLastOwn()) e.preventDefault();
    } else if (e.key === 'Escape') {
      setComposerError('');
    }
  });
  composer.addEventListener('input', onComposerInput);
  composer.addEventListener('input', mentionList.update);
  composer.addEventListener('click', mentionList.update);
  composer.addEventListener('keyup', (e) => {
    if (['ArrowLeft', 'ArrowRight', 'Home', 'End'].includes(e.key)) mentionList.update();
  });
  mentionList.wireAutocomplete();
  $('notify-enable').addEventListener('click', enableNotifications);
  $('mute-room').addEventListener('click', toggleMute);
  wireSearch();

  wireUploads();
  wireMessages();
  wireWindow();
}

function wireSearch() {
  $('search-open').addEventListener('click', openSearch);
  $('search-form').addEventListener('submit', (e) => { e.preventDefault(); runSearch(); });
  $('search-more').addEventListener('click', () => runSearch({ more: true }));
  $('search-close').addEventListener('click', () => closeSearch());
  $('search-results').addEventListener('click', (e) => {
    const b = e.target.closest('.search-result');
    if (b) jumpTo(b.dataset.room, Number(b.dataset.seq));
  });
  $('search-panel').addEventListener('keydown', (e) => {
    if (e.key === 'Escape') { e.preventDefault(); e.stopPropagation(); closeSearch(); }
  });
  document.addEventListener('keydown', (e) => {
    // Ctrl+K (Cmd+K on a Mac) searches, as in other chat apps.
    if ((e.ctrlKey || e.metaKey) && !e.altKey && !e.shiftKey && (e.key === 'k' || e.key === 'K') && state.me) {
      e.preventDefault();
      openSearch();
    }
  });
}

function wireRoomDialogs() {
  $('open-directory').addEventListener('click', openDirectory);
  $('directory-close').addEventListener('click', closeDirectory);
  $('directory').addEventListener('close', () => {
    // Back to the button that opened it, unless a room just opened took focus.
    if (!document.activeElement || document.activeElement === document.body) $('open-directory').focus();
  });
  $('directory-form').addEventListener('submit', (e) => e.preventDefault());
  $('directory-search').addEventListener('input', onSearchInput);
  $('directory-more').addEventListener('click', moreRooms);
  $('directory-list').addEventListener('click', (e) => {
    const b = e.target.closest('button.dir-join');
    if (b) joinFromDirectory(b.dataset.dirRoom);
  });
  $('room-details').addEventListener('click', openRoomDialog);
  $('room-dialog-close').addEventListener('click', closeRoomDialog);
  $('room-dialog').addEventListener('close', onRoomDialogClosed);
  $('room-about-form').addEventListener('submit', saveAbout);
  $('room-archive').addEventListener('click', toggleArchive);
  $('members-list').addEventListener('click', onMembersClick);
  $('members-more').addEventListener('click', () => loadMembers(false));
}

function wireMessages() {
  const messages = $('messages');
  messages.addEventListener('click', (e) => {
    const gapBtn = e.target.closest('.gap-btn');
    if (gapBtn) {
      fillGap({ from: Number(gapBtn.dataset.from), to: Number(gapBtn.dataset.to) });
      return;
    }
    const b = e.target.closest('button[data-action]');
    if (!b) {
      // Tapping a message shows its actions on touch screens (no hover there).
      const msg = e.target.closest('.msg:not(.pending)');
      const tapped = msg && msg.querySelector('.msg-actions') ? msg : null;
      for (const el of messages.querySelectorAll('.msg.selected')) if (el !== tapped) el.classList.remove('selected');
      if (tapped && !window.getSelection().toString()) tapped.classList.toggle('selected');
      return;
    }
    const li = b.closest('.msg');
    if (!li) return;
    const seq = Number(li.dataset.seq);
    const store = state.stores.get(state.current);
    const m = store && store.get(seq);
    if (!m) return;
    if (messageAction(b, m, false)) return;
    switch (b.dataset.action) {
      case 'edit': startEdit(m); break;
      case 'edit-save': saveEdit(); break;
      case 'edit-cancel': cancelEdit(); break;
      case 'delete': askDelete(m); break;
      case 'delete-confirm': deleteMessage(seq); break;
      case 'delete-cancel': cancelDelete(); break;
      default:
    }
  });
  messages.addEventListener('input', (e) => {
    if (e.target.classList.contains('edit-input') && state.editing) state.editing.draft = e.target.value;
  });
  messages.addEventListener('keydown', (e) => {
    if (!e.target.classList.contains('edit-input')) {
      if (e.key === 'Escape') cancelDelete();
      return;
    }
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) { e.preventDefault(); swallowEnter = true; saveEdit(); }
    if (e.key === 'Escape') { e.preventDefault(); cancelEdit(); }
  });

  $('pending-list').addEventListener('click', onPendingClick);
  wireThread();

  $('scroller').addEventListener('scroll', () => {
    if ($('scroller').scrollTop < LOAD_OLDER_PX) loadOlder();
    if (isNearBottom()) {
      hideJumpLatest();
      if (state.current) scheduleMarkRead(state.current);
    } else if ($('jump-latest').hidden) {
      showJumpLatest(false);
    }
  }, { passive: true });
  $('jump-latest').addEventListener('click', () => {
    const sc = $('scroller');
    sc.scrollTop = sc.scrollHeight;
    hideJumpLatest();
    $('composer').focus();
  });
}

// onPendingClick retries or discards an outbox entry that failed, in the
// room's pending list or the thread panel's.
function onPendingClick(e) {
  const b = e.target.closest('button[data-action]');
  const li = b && b.closest('[data-client-msg-id]');
  if (!li || !state.outbox) return;
  const id = li.dataset.clientMsgId;
  const inThread = !!li.closest('#thread-panel');
  if (b.dataset.action === 'retry') {
    state.outbox.update(id, { state: 'pending', error: '' });
    setComposerError('');
    flushOutbox();
  } else if (b.dataset.action === 'discard') {
    state.outbox.remove(id);
  }
  scheduleRender({ messages: true });
  $(inThread ? 'thread-composer' : 'composer').focus();
}

// messageAction handles the buttons every message has, in the room and in
// the thread panel: reply, open its thread, react, toggle a reaction. It
// reports whether b was one of them.
function messageAction(b, m, inThread) {
  switch (b.dataset.action) {
    case 'reply': case 'open-thread':
      openThread(m.room, rootOf(m));
      return true;
    case 'react':
      if (pickerOpen()) closePicker(false);
      else openPicker(b, (emoji) => react(m.room, m.seq, emoji, true, { inThread }));
      return true;
    case 'toggle-reaction':
      toggleReaction(m.room, m.seq, b.dataset.emoji, { inThread });
      return true;
    default:
      return false;
  }
}

function wireThread() {
  const panel = $('thread-panel');
  panel.addEventListener('click', (e) => {
    const b = e.target.closest('button');
    if (!b) {
      // As in the room: a tap shows a message's actions on touch screens.
      const tapped = e.target.closest('.msg:not(.pending)');
      for (const el of panel.querySelectorAll('.msg.selected')) if (el !== tapped) el.classList.remove('selected');
      if (tapped && !window.getSelection().toString()) tapped.classList.toggle('selected');
      return;
    }
    if (b.id === 'thread-close') { closeThread(); return; }
    if (b.id === 'thread-older') { loadOlderReplies(); return; }
    if (b.closest('[data-client-msg-id]')) { onPendingClick(e); return; }
    const li = b.closest('li.msg');
    const t = state.thread;
    const m = li && t && heldMessage(t.room, Number(li.dataset.seq));
    if (m && b.dataset.action) messageAction(b, m, true);
  });
  $('thread-form').addEventListener('submit', (e) => { e.preventDefault(); submitReply(); });
  const ta = $('thread-composer');
  ta.addEventListener('keydown', (e) => sendKey(e, submitReply));
  ta.addEventListener('input', () => {
    ta.style.height = 'auto'; // CSSOM, allowed by the CSP
    ta.style.height = `${Math.min(ta.scrollHeight, Math.round(window.innerHeight * 0.3))}px`;
  });
  // Escape in the panel closes it (the picker takes its own Escape first).
  panel.addEventListener('keydown', (e) => {
    if (e.key === 'Escape' && !e.defaultPrevented && !e.target.classList.contains('edit-input')) {
      e.preventDefault();
      closeThread();
    }
  });
}

function wireWindow() {
  $('sidebar-toggle').addEventListener('click', () => {
    if (drawerOpen()) closeDrawer();
    else openDrawer();
  });
  $('scrim').addEventListener('click', () => {
    if (drawerOpen()) closeDrawer();
    else closeThread();
  });
  document.addEventListener('keydown', (e) => {
    if (e.key === 'Escape' && drawerOpen()) {
      closeDrawer();
      $('sidebar-toggle').focus();
    }
    // Alt+ArrowUp/Down: previous/next room, like other chat apps.
    if (e.altKey && (e.key === 'ArrowUp' || e.key === 'ArrowDown') && state.me && state.current) {
      const order = [...document.querySelectorAll('#room-list .room-btn, #dm-list .room-btn')].map((b) => b.dataset.room);
      const i = order.indexOf(state.current);
      const next = order[(i + (e.key === 'ArrowDown' ? 1 : -1) + order.length) % order.length];
      if (next) { e.preventDefault(); openRoom(next); }
    }
  });

  window.addEventListener('focus', () => state.current && scheduleMarkRead(state.current));
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState !== 'visible') return;
    if (state.current) scheduleMarkRead(state.current);
    if (conn) conn.retryNow(); // a phone waking up should not wait out the backoff
  });
  window.addEventListener('online', () => conn && conn.retryNow());
  // Leaving the page (or entering the back/forward cache) closes the socket
  // cleanly, so others see us go offline at once; coming back reconnects.
  window.addEventListener('pagehide', () => { if (conn) conn.stop(); });
  window.addEventListener('pageshow', (e) => { if (e.persisted && conn && state.me) conn.start(); });
  window.addEventListener('resize', autosize, { passive: true });
  window.addEventListener('storage', (e) => {
    // Another tab of this user changed the outbox: show the same pending list.
    if (state.outbox && e.key === state.outbox.key) {
      state.outbox.load();
      settleHeld();
      scheduleRender({ messages: true });
    }
  });
}

// Exported for debugging from the console only.
export const _debug = { state, ADDED, online, get conn() { return conn; } };
