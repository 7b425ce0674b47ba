// The thread panel, drawn from state.thread: the thread's first message,
// how many replies it has, its replies (older pages on demand), the
// replies still in the outbox, and the panel's own composer (static in
// index.html). Beside the room on a wide window; over it, as a drawer,
// on a narrow one (drawer.js).

import { state, heldMessage, roomTitlePrefix } from './state.js';
import { $, reconcile } from './dom.js';
import { groupsWith } from './format.js';
import { repliesText } from './thread.js';
import { messageItem, pendingItems } from './view-messages.js';
import { syncThreadDrawer } from './drawer.js';

const NEAR_BOTTOM_PX = 60;

let shown = null; // the thread drawn: {room, root}, or null
let rootEls = new Map();
let replyEls = new Map();

export function renderThread() {
  const t = state.thread;
  const panel = $('thread-panel');
  if (!t) {
    if (shown) {
      shown = null;
      rootEls = new Map();
      replyEls = new Map();
      $('thread-root').replaceChildren();
      $('thread-replies').replaceChildren();
      $('thread-pending').replaceChildren();
    }
    panel.hidden = true;
    syncThreadDrawer(false);
    return;
  }
  const sc = $('thread-scroller');
  let stick = sc.scrollHeight - sc.scrollTop - sc.clientHeight < NEAR_BOTTOM_PX;
  if (!shown || shown.room !== t.room || shown.root !== t.root) {
    shown = { room: t.room, root: t.root };
    rootEls = new Map();
    replyEls = new Map();
    stick = true;
  }
  panel.hidden = false;
  panel.dataset.room = t.room;
  panel.dataset.root = String(t.root);
  syncThreadDrawer(true);
  $('thread-room').textContent = roomTitlePrefix(t.room);

  const root = heldMessage(t.room, t.root);
  reconcile($('thread-root'), root ? [messageItem(root, false, rootEls, { inThread: true })] : []);
  const count = root && root.replies ? root.replies.count : t.store.size;
  $('thread-count').textContent = count ? repliesText({ count }) : 'No replies yet';

  let status = '';
  if (t.error) status = t.error;
  else if (t.loading && !t.store.size) status = 'Loading replies…';
  else if (!t.loaded && state.connStatus.state !== 'online') status = 'Replies will load when the connection returns.';
  const st = $('thread-status');
  if (st.textContent !== status) st.textContent = status;

  const older = $('thread-older');
  older.hidden = !t.hasOlder;
  older.disabled = t.loadingOlder;
  older.textContent = t.loadingOlder ? 'Loading older replies…' : 'Load older replies';

  const nodes = [];
  let prev = null;
  for (const m of t.store.messages) {
    nodes.push(messageItem(m, groupsWith(prev, m) && !prev.deleted, replyEls, { inThread: true }));
    prev = m;
  }
  for (const seq of replyEls.keys()) if (!t.store.get(seq)) replyEls.delete(seq);
  reconcile($('thread-replies'), nodes);

  const entries = state.outbox ? state.outbox.list(t.room).filter((e) => e.replyTo === t.root) : [];
  $('thread-pending').replaceChildren(...pendingItems(entries, t.store));

  if (stick) sc.scrollTop = sc.scrollHeight;
}
