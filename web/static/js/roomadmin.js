// The room shown, run by its owners: its details dialog (topic,
// description, members with who is online), and the owners' actions there:
// editing the topic and description, making a member an owner or an owner
// a member, removing a member, archiving and unarchiving. Events that keep
// it true arrive through events.js; view-members.js draws it.

import { state } from './state.js';
import { conn, connected } from './client.js';
import { errorText } from './format.js';
import { newMemberList, addMemberPage } from './roominfo.js';
import { scheduleRender } from './render.js';
import { $ } from './dom.js';

const PAGE = 100;

/** status is the dialog's one-line result, and whether it is an error. */
export const dialogStatus = { text: '', error: false, confirmRemove: null };

function say(text, error = false) {
  dialogStatus.text = text;
  dialogStatus.error = error;
  scheduleRender({ details: true });
}

/** openRoomDialog shows the details of the room shown and lists its members. */
export function openRoomDialog() {
  const name = state.current;
  if (!name || !state.rooms.has(name)) return;
  const r = state.rooms.get(name);
  dialogStatus.text = '';
  dialogStatus.confirmRemove = null;
  state.members = newMemberList(name);
  $('room-topic-input').value = r.topic;
  $('room-description-input').value = r.description;
  const dlg = $('room-dialog');
  if (!dlg.open) dlg.showModal();
  loadMembers(true);
  scheduleRender({ details: true });
}

export function closeRoomDialog() {
  const dlg = $('room-dialog');
  if (dlg.open) dlg.close();
}

/** onRoomDialogClosed forgets the member list: events stop updating it. */
export function onRoomDialogClosed() {
  state.members = null;
  // Back to the button that opened it, unless something took focus meanwhile (a room opened).
  if (!document.activeElement || document.activeElement === document.body) $('room-details').focus();
}

/** loadMembers fetches the first (or the next) page of members. */
export async function loadMembers(first) {
  const list = state.members;
  if (!list || list.loading || (!first && !list.next)) return;
  if (!connected()) { say('Not connected. Try again when the connection returns.', true); return; }
  list.loading = true;
  scheduleRender({ details: true });
  try {
    const payload = { room: list.room, limit: PAGE };
    if (!first) payload.cursor = list.next;
    const ack = await conn.request('members', payload);
    if (state.members !== list) return;
    addMemberPage(list, ack, first);
    const r = state.rooms.get(list.room);
    if (r && first) r.memberCount = list.count;
  } catch (err) {
    if (state.members === list) list.error = `Could not list members: ${errorText(err)}`;
  } finally {
    list.loading = false;
    scheduleRender({ details: true, header: true });
  }
}

async function ownerRequest(type, payload, done) {
  if (!connected()) { say('Not connected. Try again when the connection returns.', true); return; }
  try {
    const ack = await conn.request(type, payload);
    done(ack);
  } catch (err) {
    say(errorText(err), true);
  }
}

/** saveAbout sets the topic and the description that changed. */
export async function saveAbout(e) {
  e.preventDefault();
  const room = state.current;
  const r = state.rooms.get(room);
  if (!r) return;
  const topic = $('room-topic-input').value.replace(/\s+/g, ' ').trim();
  const description = $('room-description-input').value.replace(/\r\n?/g, '\n').trim();
  const changes = [];
  if (topic !== r.topic) changes.push(['set_topic', { room, topic }]);
  if (description !== r.description) changes.push(['set_description', { room, description }]);
  if (!changes.length) { say('Nothing to save.'); return; }
  for (const [type, payload] of changes) {
    let ok = false;
    await ownerRequest(type, payload, (ack) => {
      if (ack && ack.room && state.rooms.has(room)) {
        Object.assign(state.rooms.get(room), { topic: ack.room.topic || '', description: ack.room.description || '' });
      }
      ok = true;
    });
    if (!ok) return;
  }
  say('Saved.');
  scheduleRender({ header: true });
}

/** setRole makes a member an owner, or an owner a member. */
export function setRole(username, role) {
  const room = state.current;
  ownerRequest('set_role', { room, user: username, role }, () => {
    say(role === 'owner' ? `${username} is now an owner.` : `${username} is now a member.`);
  });
}

/** removeMember removes a member, on a second click. */
export function removeMember(username) {
  if (dialogStatus.confirmRemove !== username) {
    dialogStatus.confirmRemove = username;
    scheduleRender({ details: true });
    return;
  }
  dialogStatus.confirmRemove = null;
  const room = state.current;
  ownerRequest('remove_member', { room, user: username }, () => say(`Removed ${username} from #${room}.`));
}

/** toggleArchive archives the room shown, or brings it back. */
export function toggleArchive() {
  const room = state.current;
  const r = state.rooms.get(room);
  if (!r) return;
  const archived = !r.archived;
  ownerRequest('archive_room', { room, archived }, (ack) => {
    if (state.rooms.has(room)) state.rooms.get(room).archived = ack && ack.room ? !!ack.room.archived : archived;
    say(archived ? `#${room} is archived: read-only.` : `#${room} is open again.`);
    scheduleRender({ header: true, messages: true });
  });
}

/** onMembersClick runs a member row's owner action. */
export function onMembersClick(e) {
  const b = e.target.closest('button[data-action]');
  const li = b && b.closest('[data-user]');
  if (!li) return;
  const user = li.dataset.user;
  switch (b.dataset.action) {
    case 'make-owner': setRole(user, 'owner'); break;
    case 'make-member': setRole(user, 'member'); break;
    case 'remove': removeMember(user); break;
    case 'remove-cancel': dialogStatus.confirmRemove = null; scheduleRender({ details: true }); break;
    default:
  }
}
