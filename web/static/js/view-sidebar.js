// The sidebar, drawn from state: rooms and direct messages with their
// unread badges, the invite form of a private room (for those who may
// invite), the join form's "create?" question, and the document title's
// unread count.

import { state, totalUnread } from './state.js';
import { $, reconcile, lockIcon, textSpan } from './dom.js';
import { isDM, dmPeer, titleFor } from './format.js';
import { mayInvite } from './roominfo.js';

// Each room's element is kept and updated, so focus survives a render.
let roomEls = new Map(); // name -> li

export function renderSidebar() {
  for (const name of roomEls.keys()) if (!state.rooms.has(name)) roomEls.delete(name);
  const rooms = [...state.rooms.values()];
  const me = state.me.username;
  const plain = rooms.filter((r) => !isDM(r.name)).sort((a, b) => a.name.localeCompare(b.name));
  const dms = rooms.filter((r) => isDM(r.name))
    .sort((a, b) => dmPeer(a.name, me).localeCompare(dmPeer(b.name, me), undefined, { sensitivity: 'base' }));
  reconcile($('room-list'), plain.map(roomItem));
  reconcile($('dm-list'), dms.map(roomItem));
  $('dm-empty').hidden = dms.length > 0;
  document.title = titleFor(totalUnread());
  const otherUnread = rooms.some((r) => r.name !== state.current && r.unread > 0 && (!r.muted || r.mentions > 0));
  $('menu-badge').hidden = !otherUnread;
  renderInvite();
  renderJoinAsk();
}

function roomItem(r) {
  let li = roomEls.get(r.name);
  if (!li) {
    li = document.createElement('li');
    const btn = document.createElement('button');
    btn.type = 'button';
    btn.className = 'room-btn';
    btn.dataset.room = r.name;
    const icon = document.createElement('span');
    icon.className = 'room-icon';
    icon.setAttribute('aria-hidden', 'true');
    const label = document.createElement('span');
    label.className = 'room-label';
    const badge = document.createElement('span');
    badge.className = 'badge';
    const count = document.createElement('span');
    const sr = textSpan('visually-hidden', ' unread');
    badge.append(count, sr);
    btn.append(icon, label, badge);
    li.append(btn);
    roomEls.set(r.name, li);
  }
  const btn = li.firstChild;
  const [icon, label, badge] = btn.children;
  const me = state.me.username;
  if (isDM(r.name)) {
    const peer = dmPeer(r.name, me);
    btn.dataset.user = peer;
    const on = !!state.peerOnline.get(peer.toLowerCase());
    icon.textContent = '';
    icon.className = `dm-dot${on ? ' on' : ''}`;
    icon.title = on ? 'online' : 'offline';
    label.textContent = peer;
  } else {
    icon.className = 'room-icon';
    icon.title = r.private ? 'private' : '';
    if (r.private) icon.replaceChildren(lockIcon());
    else icon.textContent = '#';
    label.textContent = r.name;
  }
  btn.dataset.unread = String(r.unread);
  badge.hidden = r.unread === 0;
  badge.firstChild.textContent = r.unread > 99 ? '99+' : String(r.unread);
  // A room with unread messages that mention the user says so: "@" before
  // the count, and in what a screen reader reads.
  const mentioned = r.unread > 0 && r.mentions > 0;
  badge.classList.toggle('mention', mentioned);
  badge.lastChild.textContent = (mentioned ? ' unread, mentioning you' : ' unread') + (r.muted ? ', muted' : '');
  btn.classList.toggle('has-unread', r.unread > 0);
  btn.classList.toggle('muted', !!r.muted); // a quieter badge
  if (r.name === state.current) btn.setAttribute('aria-current', 'page');
  else btn.removeAttribute('aria-current');
  return li;
}

export function renderInvite() {
  const r = state.current && state.rooms.get(state.current);
  const show = mayInvite(r);
  $('invite-form').hidden = !show;
  if (show) $('invite-room-name').textContent = `#${r.name}`;
}

// renderJoinAsk asks whether to create a room that the join form did not find.
function renderJoinAsk() {
  const name = state.joinAsk;
  $('join-create').hidden = !name;
  if (!name) return;
  // The name goes in the question, which wraps; the buttons stay short
  // whatever the name's length.
  $('join-create-text').textContent = `There is no public room #${name}. Create it?`;
}

/** resetSidebar empties the sidebar, on sign-out. */
export function resetSidebar() {
  roomEls = new Map();
  for (const id of ['room-list', 'dm-list']) $(id).replaceChildren();
  $('join-create').hidden = true;
}
