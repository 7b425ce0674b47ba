// The room's header and the connection line, drawn from state: the room's
// name and who is online, who is typing, the signed-in user, and whether
// the connection is up (counting down to the next try while it is not).

import { state, roomTitlePrefix, online } from './state.js';
import { $, lockIcon } from './dom.js';
import { renderInvite } from './view-sidebar.js';
import { renderRoomBits } from './view-members.js';
import { isDM, dmPeer, roomLabel, typingText, initials, colorIndex } from './format.js';

let connTicker = null; // counts the offline line down every second
let lastConnAnnounce = ''; // kept across sign-ins: the first connect is no news

export function renderMe() {
  const name = state.me.username;
  $('me-name').textContent = name;
  const av = $('me-avatar');
  av.textContent = initials(name);
  av.className = `avatar small c${colorIndex(name)}`;
}

// announceConn tells screen readers about a change of connection, once:
// the visible text counts down every second while offline, which a live
// region would read out again and again.
function announceConn(s) {
  const words = { online: 'Connected', offline: 'Connection lost, retrying', stopped: 'Signed out' }[s.state];
  if (!words || lastConnAnnounce === words) return;
  if (s.state === 'online' && !lastConnAnnounce) { lastConnAnnounce = words; return; }
  lastConnAnnounce = words;
  $('conn-announce').textContent = words;
}

export function renderConn() {
  const s = state.connStatus;
  const el = $('conn-state');
  el.dataset.state = s.state;
  announceConn(s);
  clearInterval(connTicker);
  const text = $('conn-text');
  $('reconnect-now').hidden = s.state !== 'offline';
  if (s.state === 'online') {
    text.textContent = 'Connected';
  } else if (s.state === 'connecting') {
    text.textContent = state.welcomed ? 'Reconnecting…' : 'Connecting…';
  } else if (s.state === 'offline') {
    const tick = () => {
      const secs = Math.max(0, Math.ceil((s.retryAt - Date.now()) / 1000));
      text.textContent = secs > 0 ? `Offline · retrying in ${secs}s` : 'Offline · retrying…';
    };
    tick();
    connTicker = setInterval(tick, 1000);
  } else {
    text.textContent = 'Signed out';
  }
  renderPlaceholder();
}

// renderPlaceholder says in the composer where a message goes, or that it
// waits for the connection.
function renderPlaceholder() {
  const s = state.connStatus.state;
  // Never a room the user is not in (once the welcome said which they are in).
  const inRoom = state.current && (state.rooms.has(state.current) || !state.welcomed);
  if (s === 'online') $('composer').placeholder = inRoom ? `Message ${roomTitlePrefix(state.current)}` : 'Message';
  else if (s === 'offline') $('composer').placeholder = 'Message (sent when the connection returns)';
}

export function renderHeader() {
  const name = state.current;
  const r = name && state.rooms.get(name);
  const title = $('room-name');
  const kind = $('room-kind');
  $('leave-room').hidden = !r;
  renderMute(r);
  renderRoomBits();
  const leave = $('leave-room');
  if (leave.dataset.confirm && leave.dataset.confirm !== name) { // asked about another room
    leave.dataset.confirm = '';
    leave.textContent = 'Leave';
  }
  if (!r) {
    // Before the welcome (a reload) the saved room is not confirmed yet.
    title.textContent = name ? roomLabel(name, state.me.username) : 'No room';
    kind.textContent = name ? (isDM(name) ? '@' : '#') : '';
    $('online-count').textContent = '';
    $('online-list').replaceChildren();
    return;
  }
  const me = state.me.username;
  if (isDM(name)) {
    kind.textContent = '@';
    title.textContent = dmPeer(name, me);
  } else {
    if (r.private) kind.replaceChildren(lockIcon());
    else kind.textContent = '#';
    title.textContent = name;
  }
  const pr = state.presence.get(name);
  const count = pr ? pr.count : r.membersOnline;
  $('online-count').textContent = `${count} online`;
  const users = pr ? [...pr.users.values()].sort((a, b) => a.username.localeCompare(b.username)) : [];
  const shown = users.slice(0, 8).map((u, i) => {
    const s = document.createElement('span');
    s.dataset.user = u.username;
    s.textContent = (i ? ', ' : '') + u.username + (state.me && u.id === state.me.id ? ' (you)' : '');
    return s;
  });
  if (count > shown.length && shown.length) {
    const more = document.createElement('span');
    more.textContent = ` +${count - shown.length}`;
    shown.push(more);
  }
  $('online-list').replaceChildren(...shown);
  if (online()) renderPlaceholder();
  renderInvite();
}

// renderMute shows whether the room shown is muted, as a toggle button.
function renderMute(r) {
  const b = $('mute-room');
  b.hidden = !r;
  if (!r) return;
  b.setAttribute('aria-pressed', String(!!r.muted));
  b.title = r.muted ? 'Muted: no notifications from this room. Click to unmute.' : 'No notifications from this room';
}

export function renderTyping() {
  const set = state.current && state.typing.get(state.current);
  $('typing').textContent = set ? typingText([...set].sort()) : '';
}

/** resetHeader stops the offline countdown and empties the header, on sign-out. */
export function resetHeader() {
  clearInterval(connTicker);
  $('online-list').replaceChildren();
  $('typing').textContent = '';
}
