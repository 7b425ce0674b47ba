// @ autocomplete in the composer: typing "@" and letters offers the room's
// members (the `members` request, cached per room for a minute) and @room
// where the server would count it. The composer is an ARIA combobox and
// the suggestions its listbox: ArrowUp/Down move, Enter or Tab picks,
// Escape closes, a click picks. While it is closed the keys do what they
// did (Enter still sends).

import { state } from './state.js';
import { conn, connected } from './client.js';
import { mentionAt, suggest, applyMention, mayMentionRoom } from './mentions.js';
import { isDM } from './format.js';
import { $, textSpan } from './dom.js';

const MEMBERS_FRESH_MS = 60000;
const MEMBERS_PAGE = 200;

let open = null; // {room, start, caret, items, active} while the list shows
let optionSeq = 0;

/** membersOf returns the cached members of room and refreshes them when stale. */
function membersOf(room) {
  const cached = state.mentionables.get(room);
  if ((!cached || Date.now() - cached.at > MEMBERS_FRESH_MS) && connected() && !(cached && cached.loading)) {
    fetchMembers(room, cached);
  }
  return cached ? cached.users : [];
}

async function fetchMembers(room, old) {
  const entry = { users: old ? old.users : [], at: old ? old.at : 0, loading: true };
  state.mentionables.set(room, entry);
  try {
    const r = await conn.request('members', { room, limit: MEMBERS_PAGE });
    entry.users = (r.members || []).map((m) => m && m.user).filter(Boolean);
    entry.at = Date.now();
  } catch {
    // Suggestions only: the next @ tries again; names typed in full still mention.
    entry.at = Date.now() - MEMBERS_FRESH_MS + 5000;
  } finally {
    entry.loading = false;
  }
  if (state.mentionables.get(room) === entry) update();
}

/** update opens, refreshes or closes the list for the composer's text and caret. */
export function update() {
  const ta = $('composer');
  const room = state.current;
  const at = room && ta.selectionStart === ta.selectionEnd ? mentionAt(ta.value, ta.selectionStart) : null;
  if (!at || !state.me) return close();
  const info = state.rooms.get(room);
  const allowRoom = !isDM(room) && mayMentionRoom(info);
  const items = suggest(membersOf(room), at.query, { me: state.me.username, allowRoom });
  if (!items.length) return close();
  const prev = open && open.room === room && open.start === at.start && open.items[open.active];
  let active = prev ? items.findIndex((i) => i.username === prev.username) : 0;
  if (active < 0) active = 0;
  open = { room, start: at.start, caret: ta.selectionStart, items, active };
  render();
}

function render() {
  const ta = $('composer');
  const list = $('mention-list');
  if (!open) {
    list.hidden = true;
    list.replaceChildren();
    ta.setAttribute('aria-expanded', 'false');
    ta.removeAttribute('aria-activedescendant');
    return;
  }
  const base = `mention-opt-${++optionSeq}`;
  list.replaceChildren(...open.items.map((it, i) => {
    const li = document.createElement('li');
    li.id = `${base}-${i}`;
    li.className = 'mention-option';
    li.setAttribute('role', 'option');
    li.setAttribute('aria-selected', String(i === open.active));
    li.dataset.username = it.username;
    const name = document.createElement('span');
    name.textContent = `@${it.username}`;
    li.append(name);
    if (it.room) {
      const hint = textSpan('mention-hint', 'everyone in this room');
      li.append(hint);
    }
    return li;
  }));
  list.hidden = false;
  ta.setAttribute('aria-expanded', 'true');
  ta.setAttribute('aria-activedescendant', `${base}-${open.active}`);
  list.children[open.active].scrollIntoView({ block: 'nearest' });
}

/** close hides the list. */
export function close() {
  if (!open && $('mention-list').hidden) return;
  open = null;
  render();
}

/** isOpen reports whether suggestions are shown. */
export function isOpen() { return !!open; }

/** onKeydown handles the list's keys; it reports whether it used the key. */
export function onKeydown(e) {
  if (!open || e.isComposing) return false;
  switch (e.key) {
    case 'ArrowDown':
    case 'ArrowUp': {
      const n = open.items.length;
      open.active = (open.active + (e.key === 'ArrowDown' ? 1 : n - 1)) % n;
      render();
      return true;
    }
    case 'Enter':
    case 'Tab':
      if (e.shiftKey || e.altKey || e.ctrlKey || e.metaKey) return false;
      pick(open.active);
      return true;
    case 'Escape':
      close();
      return true;
    default:
      return false;
  }
}

/** pick writes suggestion i into the composer. */
export function pick(i) {
  if (!open || !open.items[i]) return;
  const ta = $('composer');
  const r = applyMention(ta.value, open.start, open.caret, open.items[i].username);
  close();
  ta.value = r.text;
  ta.setSelectionRange(r.caret, r.caret);
  ta.focus();
  ta.dispatchEvent(new Event('input', { bubbles: true })); // draft, counter and size follow
}

/** wireAutocomplete connects the list's mouse handling. */
export function wireAutocomplete() {
  const list = $('mention-list');
  // mousedown, not click: the composer must keep focus (and its caret).
  list.addEventListener('mousedown', (e) => {
    const li = e.target.closest('.mention-option');
    if (!li) return;
    e.preventDefault();
    pick([...list.children].indexOf(li));
  });
  $('composer').addEventListener('blur', () => setTimeout(() => {
    if (document.activeElement !== $('composer')) close();
  }, 0));
}

/** resetAutocomplete forgets the lists, on sign-out. */
export function resetAutocomplete() {
  open = null;
  render();
}
