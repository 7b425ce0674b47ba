// The room directory, drawn from state.directory: each public room with
// its topic, member count and last activity, and a button to join it (or
// open it, if joined).

import { state } from './state.js';
import { $, textSpan } from './dom.js';
import { activityLabel, membersLabel } from './roominfo.js';

export function renderDirectory() {
  const dir = state.directory;
  const items = dir.rooms.map((r) => {
    const li = document.createElement('li');
    li.className = 'dir-room';
    li.dataset.dirRoom = r.name;
    const info = document.createElement('div');
    info.className = 'dir-info';
    const name = textSpan('dir-name', `#${r.name}`);
    const topic = textSpan('dir-topic', r.topic || '');
    const meta = textSpan('dir-meta', `${membersLabel(Number(r.member_count) || 0)} · ${activityLabel(r.last_activity)}`);
    info.append(name, topic, meta);
    const joined = state.rooms.has(r.name);
    const btn = document.createElement('button');
    btn.type = 'button';
    btn.className = `btn small ${joined ? 'secondary' : 'primary'} dir-join`;
    btn.dataset.dirRoom = r.name;
    btn.textContent = joined ? 'Open' : 'Join';
    btn.setAttribute('aria-label', `${joined ? 'Open' : 'Join'} #${r.name}`);
    li.append(info, btn);
    return li;
  });
  $('directory-list').replaceChildren(...items);
  let status = dir.error;
  if (!status && dir.loading) status = 'Loading rooms…';
  else if (!status && dir.loaded && !dir.rooms.length) {
    status = dir.query ? `No public room matches “${dir.query}”. Join it by name to create it.` : 'No public rooms yet.';
  }
  const st = $('directory-status');
  st.textContent = status;
  st.className = `side-status${dir.error ? ' error' : ''}`;
  $('directory-more').hidden = !dir.next;
  $('directory-more').disabled = dir.loading;
}
