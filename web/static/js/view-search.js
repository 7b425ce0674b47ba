// The search panel, drawn from state.search (find.js changes it): the
// status line, the results with their room, author, time and snippet, and
// the "More results" button. A snippet's highlights become <mark>
// elements around text nodes, never HTML.

import { state, roomTitlePrefix } from './state.js';
import { $, textSpan } from './dom.js';
import { dayLabel, timeLabel, fullTimeLabel } from './format.js';
import { snippetParts } from './snippet.js';

let shown = []; // the results the list holds, to append pages without redrawing

export function renderSearch() {
  const s = state.search;
  $('search-panel').hidden = !s;
  if (!s) return;
  $('search-status').textContent = s.status;
  $('search-this-room-label').textContent = state.current ? `Only in ${roomTitlePrefix(state.current)}` : 'Only this room';
  const list = $('search-results');
  if (shown !== s.results && !(shown.length && s.results.length > shown.length && s.results[0] === shown[0])) {
    list.replaceChildren();
    shown = [];
  }
  for (const r of s.results.slice(shown.length)) list.append(resultItem(r));
  shown = s.results;
  $('search-more').hidden = !s.cursor || s.loading;
}

function resultItem(r) {
  const li = document.createElement('li');
  const b = document.createElement('button');
  b.type = 'button';
  b.className = 'search-result';
  b.dataset.room = r.room;
  b.dataset.seq = String(r.seq);
  const meta = document.createElement('span');
  meta.className = 'search-meta';
  const room = textSpan('search-room', state.rooms.has(r.room) ? roomTitlePrefix(r.room) : `#${r.room}`);
  const who = textSpan('search-author', (r.from && r.from.username) || '');
  const time = document.createElement('time');
  const d = new Date(r.sent_at);
  if (Number.isFinite(d.getTime())) {
    time.dateTime = r.sent_at;
    time.title = fullTimeLabel(d);
    time.textContent = `${dayLabel(d, new Date())} ${timeLabel(d)}`;
  }
  meta.append(room, who, time);
  const text = document.createElement('span');
  text.className = 'search-snippet';
  for (const p of snippetParts(r.snippet)) {
    if (p.mark) {
      const m = document.createElement('mark');
      m.textContent = p.text;
      text.append(m);
    } else {
      text.append(document.createTextNode(p.text));
    }
  }
  b.append(meta, text);
  li.append(b);
  return li;
}

/** resetSearchView empties the list, on sign-out. */
export function resetSearchView() {
  shown = [];
  $('search-results').replaceChildren();
  $('search-panel').hidden = true;
}
