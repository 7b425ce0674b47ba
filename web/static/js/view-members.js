// The room shown, as its members see it: the header's topic and member
// count, the read-only note of an archived room in place of the composer,
// and the details dialog (topic, description, members with who is online
// and their roles, and the owners' actions). Drawn from state only.

import { state } from './state.js';
import { $, actionButton, textSpan } from './dom.js';
import { isDM } from './format.js';
import { isOwner, mayManage, mayPost } from './roominfo.js';
import { dialogStatus } from './roomadmin.js';

/** renderRoomBits draws the header's topic and count, and the composer or the archived note. */
export function renderRoomBits() {
  const r = state.current && state.rooms.get(state.current);
  const topic = $('room-topic');
  topic.textContent = r ? r.topic : '';
  topic.hidden = !(r && r.topic);
  const details = $('room-details');
  details.hidden = !r || isDM(r.name);
  if (r) {
    $('member-count').textContent = String(r.memberCount);
    details.setAttribute('aria-label', `Members ${r.memberCount} in #${r.name}: members and details`);
  }
  // The composer is for a room the user is in and may write to. Before the
  // first welcome the room saved from last time is not confirmed yet: the
  // outbox may hold messages for it, so it stays.
  const archived = !!(r && !mayPost(r));
  const notIn = state.welcomed && !r;
  $('archived-note').hidden = !archived;
  $('composer-form').hidden = archived;
  $('composer').disabled = notIn;
  $('send').disabled = notIn;
  if (notIn) $('composer').placeholder = 'Choose a room to write in';
}

/** renderRoomDialog draws the details dialog, if it is open. */
export function renderRoomDialog() {
  if (!$('room-dialog').open) return;
  const r = state.current && state.rooms.get(state.current);
  const list = state.members;
  if (!r) return;
  $('room-dialog-title').textContent = `#${r.name}${r.archived ? ' (archived)' : ''}`;
  const topic = $('room-dialog-topic');
  topic.textContent = r.topic || 'No topic yet.';
  topic.classList.toggle('muted', !r.topic);
  const desc = $('room-dialog-description');
  desc.textContent = r.description;
  desc.hidden = !r.description;
  $('room-about-form').hidden = !mayManage(r);
  const archive = $('room-archive');
  archive.hidden = !isOwner(r);
  archive.textContent = r.archived ? 'Unarchive room' : 'Archive room';

  const count = list && list.room === r.name ? list.count : r.memberCount;
  $('members-title').textContent = `Members (${count})`;
  const manage = mayManage(r);
  const rows = list && list.room === r.name ? list.members.map((m) => memberRow(m, manage)) : [];
  $('members-list').replaceChildren(...rows);
  $('members-more').hidden = !(list && list.next);
  let text = dialogStatus.text;
  let error = dialogStatus.error;
  if (list && list.error) { text = list.error; error = true; } else if (!text && list && list.loading) text = 'Loading members…';
  const st = $('room-dialog-status');
  st.textContent = text;
  st.className = `side-status${error ? ' error' : ''}`;
}

function memberRow(m, manage) {
  const li = document.createElement('li');
  li.className = 'member';
  li.dataset.user = m.user.username;
  li.dataset.role = m.role;
  li.dataset.online = String(!!m.online);
  const dot = document.createElement('span');
  dot.className = `dm-dot${m.online ? ' on' : ''}`;
  dot.setAttribute('aria-hidden', 'true');
  const name = document.createElement('span');
  name.className = 'member-name';
  const me = state.me && m.user.id === state.me.id;
  name.textContent = m.user.username + (me ? ' (you)' : '');
  const info = textSpan('member-info', `${m.role === 'owner' ? 'owner' : 'member'} · ${m.online ? 'online' : 'offline'}`);
  li.append(dot, name, info);
  if (manage) {
    const u = m.user.username;
    const actions = document.createElement('span');
    actions.className = 'member-actions';
    if (m.role === 'owner') actions.append(actionButton('btn ghost small member-role', 'make-member', 'Make member', `Make member: ${u}`));
    else actions.append(actionButton('btn ghost small member-role', 'make-owner', 'Make owner', `Make owner: ${u}`));
    if (!me && dialogStatus.confirmRemove === u) {
      actions.append(
        actionButton('btn danger small member-remove-confirm', 'remove', 'Remove', `Confirm: remove ${u} from the room`),
        actionButton('btn ghost small member-remove-cancel', 'remove-cancel', 'Cancel', `Cancel: keep ${u}`));
    } else if (!me) {
      actions.append(actionButton('btn ghost small member-remove', 'remove', 'Remove', `Remove ${u} from the room`));
    }
    li.append(actions);
  }
  return li;
}
