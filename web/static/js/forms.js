// The sidebar's forms: join (asking before creating a room that does not
// exist), create, invite, open a direct conversation, and leave the room
// shown (after a confirming second click). Each asks the server and says how it went in
// the sidebar's status line.

import { state } from './state.js';
import { conn, connected } from './client.js';
import { USERNAME_RE, normalizeRoomName, errorText, isDM } from './format.js';
import { openRoom, forgetRoom, addJoined, refreshWho } from './rooms.js';
import { scheduleRender } from './render.js';
import { setSideStatus } from './notices.js';
import { $ } from './dom.js';

const ROOM_NAME_RULE = 'Room names are 1–64 of a–z, 0–9, “_” and “-”.';

async function sideRequest(btnId, fn) {
  const btn = $(btnId);
  if (!connected()) {
    setSideStatus('Not connected. Try again when the connection returns.', 'error');
    return;
  }
  btn.disabled = true;
  try {
    await fn();
  } catch (err) {
    setSideStatus(err.friendly || errorText(err), 'error');
  } finally {
    btn.disabled = false;
  }
}

function friendly(err, text) {
  err.friendly = text;
  return err;
}

// formUsername reads a username field ("@bob" or "bob"), or says what it wants.
function formUsername(id, want) {
  const input = $(id);
  const user = input.value.trim().replace(/^@/, '');
  if (USERNAME_RE.test(user)) return user;
  setSideStatus(want, 'error');
  input.focus();
  return null;
}

export function joinRoom(e) {
  e.preventDefault();
  const input = $('join-room-input');
  const name = normalizeRoomName(input.value);
  if (!name) {
    setSideStatus(ROOM_NAME_RULE, 'error');
    input.focus();
    return;
  }
  setJoinAsk(null);
  if (state.rooms.has(name)) {
    input.value = '';
    openRoom(name);
    return;
  }
  sideRequest('join-room-submit', async () => {
    let ack;
    try {
      // create:false: a typo must not make a room; not_found asks first.
      ack = await conn.request('join_room', { room: name, create: false });
    } catch (err) {
      if (err.code !== 'not_found') throw err;
      setSideStatus('');
      setJoinAsk(name);
      $('join-create-yes').focus();
      return;
    }
    addJoined(ack.room || { name });
    input.value = '';
    setSideStatus(`Joined #${name}.`, 'ok');
  });
}

function setJoinAsk(name) {
  state.joinAsk = name;
  scheduleRender({ sidebar: true });
}

/** confirmCreate answers "Create #name?" with yes: the room is created, public. */
export function confirmCreate() {
  const name = state.joinAsk;
  if (!name) return;
  sideRequest('join-create-yes', async () => {
    let ack;
    try {
      ack = await conn.request('create_room', { room: name, private: false });
    } catch (err) {
      // It exists but could not be joined: a private room one is not in.
      if (err.code === 'conflict') throw friendly(err, `#${name} is private. Ask its owner for an invitation.`);
      throw err;
    } finally {
      setJoinAsk(null);
    }
    $('join-room-input').value = '';
    addJoined(ack.room || { name });
    setSideStatus(`Created #${name}.`, 'ok');
  });
}

/** cancelCreate answers "Create #name?" with no: nothing is created. */
export function cancelCreate() {
  setJoinAsk(null);
  setSideStatus('');
  $('join-room-input').focus();
}

export function createRoom(e) {
  e.preventDefault();
  const input = $('create-room-name');
  const name = normalizeRoomName(input.value);
  const priv = $('create-room-private').checked;
  if (!name) {
    setSideStatus(ROOM_NAME_RULE, 'error');
    input.focus();
    return;
  }
  sideRequest('create-room-submit', async () => {
    let ack;
    try {
      ack = await conn.request('create_room', { room: name, private: priv });
    } catch (err) {
      if (err.code === 'conflict') throw friendly(err, `#${name} already exists.${priv ? '' : ' Join it instead.'}`);
      throw err;
    }
    addJoined(ack.room || { name, private: priv });
    input.value = '';
    $('create-room-private').checked = false;
    setSideStatus(`Created ${priv ? 'private ' : ''}#${name}.`, 'ok');
  });
}

export function invite(e) {
  e.preventDefault();
  const user = formUsername('invite-user', 'Enter a username to invite.');
  const room = state.current;
  if (!user) return;
  sideRequest('invite-submit', async () => {
    let ack;
    try {
      ack = await conn.request('invite', { room, user });
    } catch (err) {
      if (err.code === 'not_found') throw friendly(err, `There is no user named “${user}”.`);
      if (err.code === 'forbidden') throw friendly(err, 'Only the room’s owner can invite people.');
      throw err;
    }
    $('invite-user').value = '';
    const who = (ack && ack.user && ack.user.username) || user;
    setSideStatus(`Invited ${who} to #${room}.`, 'ok');
    refreshWho(room);
  });
}

export function openDM(e) {
  e.preventDefault();
  const user = formUsername('dm-user', 'Enter the username of the person to message.');
  if (!user) return;
  sideRequest('dm-submit', async () => {
    let ack;
    try {
      ack = await conn.request('open_dm', { user });
    } catch (err) {
      if (err.code === 'not_found') throw friendly(err, `There is no user named “${user}”.`);
      throw err;
    }
    $('dm-user').value = '';
    addJoined(ack.room);
    setSideStatus('');
  });
}

let leaveConfirmTimer = null;

// leaveRoom leaves the room shown on a second click: a first one asks
// "Leave #name?", since leaving loses the room's place in the sidebar (and
// a private room needs an invitation to come back).
export async function leaveRoom() {
  const name = state.current;
  const r = name && state.rooms.get(name);
  if (!r) return;
  const btn = $('leave-room');
  if (btn.dataset.confirm !== name) {
    btn.dataset.confirm = name;
    btn.textContent = isDM(name) ? 'Leave conversation?' : `Leave #${name}?`;
    clearTimeout(leaveConfirmTimer);
    leaveConfirmTimer = setTimeout(() => { btn.dataset.confirm = ''; btn.textContent = 'Leave'; }, 5000);
    return;
  }
  btn.dataset.confirm = '';
  btn.textContent = 'Leave';
  if (!connected()) {
    setSideStatus('Not connected. Try again when the connection returns.', 'error');
    return;
  }
  try {
    await conn.request('leave_room', { room: name });
    forgetRoom(name, true);
  } catch (err) {
    setSideStatus(`Could not leave: ${errorText(err)}`, 'error');
  }
}
