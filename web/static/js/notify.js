// Browser notifications and per-room mute. Once the user has allowed them
// (asked only on a click: browsers refuse a prompt that no gesture asked
// for), a message that mentions them, or any direct message, raises a
// notification while the page is hidden; clicking it brings the tab back
// to that room. A muted room (kept on the server, so it follows the user)
// raises none.

import { state, roomTitlePrefix } from './state.js';
import { conn, connected } from './client.js';
import { isDM, errorText } from './format.js';
import { shouldNotify, notificationText } from './mentions.js';
import { scheduleRender } from './render.js';
import { setSideStatus } from './notices.js';
import { openRoom } from './rooms.js';
import { $ } from './dom.js';

/** permission is the page's notification permission, or 'unsupported'. */
export function permission() {
  return typeof window.Notification === 'function' ? window.Notification.permission : 'unsupported';
}

/** renderNotifyControl shows the "Enable notifications" button while it can help. */
export function renderNotifyControl() {
  $('notify-enable').hidden = permission() !== 'default';
}

/** enableNotifications asks for the permission, on the user's click. */
export async function enableNotifications() {
  if (permission() !== 'default') return renderNotifyControl();
  try {
    const p = await window.Notification.requestPermission();
    if (p === 'granted') setSideStatus('Notifications are on for mentions and direct messages.', 'ok');
    else if (p === 'denied') setSideStatus('Notifications are blocked. Allow them in the browser\'s site settings.', 'error');
  } catch {
    // An old browser without the promise form: nothing to do.
  }
  renderNotifyControl();
}

let shown = new Map(); // tag -> Notification, closed when the room is read

/** maybeNotify raises a notification for a new message, if it deserves one. */
export function maybeNotify(m) {
  const room = state.rooms.get(m.room);
  const dm = isDM(m.room);
  const hidden = document.visibilityState === 'hidden';
  if (!shouldNotify(m, { me: state.me, room, permission: permission(), hidden, dm })) return;
  const { title, body } = notificationText(m, roomTitlePrefix(m.room), dm);
  const tag = `chatd:${m.room}:${m.seq}`; // one per message, even with several tabs open
  let n;
  try {
    n = new window.Notification(title, { body, tag });
  } catch {
    return; // some browsers allow notifications only from a service worker
  }
  shown.set(tag, n);
  n.onclick = () => {
    window.focus();
    n.close();
    if (state.rooms.has(m.room)) openRoom(m.room);
  };
  n.onclose = () => shown.delete(tag);
}

/** closeNotifications closes those of a room the user is now reading (all, without room). */
export function closeNotifications(room) {
  for (const [tag, n] of shown) {
    if (room && !tag.startsWith(`chatd:${room}:`)) continue;
    n.close();
    shown.delete(tag);
  }
}

/** toggleMute mutes or unmutes the room shown. */
export async function toggleMute() {
  const name = state.current;
  const room = name && state.rooms.get(name);
  if (!room) return;
  if (!connected()) {
    setSideStatus('Not connected. Try again when the connection returns.', 'error');
    return;
  }
  const muted = !room.muted;
  try {
    const ack = await conn.request('set_room_muted', { room: name, muted });
    applyMuted(ack && typeof ack.muted === 'boolean' ? ack : { room: name, muted });
    if (muted) closeNotifications(name);
  } catch (err) {
    setSideStatus(`Could not ${muted ? 'mute' : 'unmute'} ${roomTitlePrefix(name)}: ${errorText(err)}`, 'error');
  }
}

/** applyMuted records a mute from an ack or a room_muted event. */
export function applyMuted(p) {
  const room = p && state.rooms.get(p.room);
  if (!room) return;
  room.muted = !!p.muted;
  scheduleRender({ sidebar: true, header: p.room === state.current });
}

export function resetNotify() {
  closeNotifications();
  shown = new Map();
}
