// The room directory: searching and paging public rooms
// (list_public_rooms), and joining one from there. view-directory.js
// draws it from state.directory.

import { state } from './state.js';
import { conn, connected } from './client.js';
import { errorText } from './format.js';
import { addDirectoryPage, newDirectory } from './roominfo.js';
import { scheduleRender } from './render.js';
import { openRoom, addJoined } from './rooms.js';
import { setSideStatus } from './notices.js';
import { $ } from './dom.js';

const PAGE = 20;
const SEARCH_DELAY_MS = 250;

let searchTimer = null;

/** openDirectory shows the directory, searching afresh. */
export function openDirectory() {
  const dlg = $('directory');
  state.directory = newDirectory();
  $('directory-search').value = '';
  if (!dlg.open) dlg.showModal();
  $('directory-search').focus();
  loadPage(true);
}

export function closeDirectory() {
  clearTimeout(searchTimer);
  const dlg = $('directory');
  if (dlg.open) dlg.close();
}

/** onSearchInput searches again once typing pauses. */
export function onSearchInput() {
  clearTimeout(searchTimer);
  searchTimer = setTimeout(() => {
    state.directory.query = $('directory-search').value.trim();
    loadPage(true);
  }, SEARCH_DELAY_MS);
}

/** moreRooms fetches the next page of the search shown. */
export function moreRooms() {
  if (state.directory.next && !state.directory.loading) loadPage(false);
}

async function loadPage(first) {
  const dir = state.directory;
  if (!connected()) {
    dir.error = 'Not connected. Try again when the connection returns.';
    scheduleRender({ directory: true });
    return;
  }
  const seq = ++dir.seq; // a newer search makes this one's answer stale
  dir.loading = true;
  dir.error = '';
  scheduleRender({ directory: true });
  const payload = { limit: PAGE };
  if (dir.query) payload.query = dir.query;
  if (!first) payload.cursor = dir.next;
  try {
    const ack = await conn.request('list_public_rooms', payload);
    if (state.directory !== dir || dir.seq !== seq) return;
    addDirectoryPage(dir, ack, first);
  } catch (err) {
    if (state.directory === dir && dir.seq === seq) dir.error = `Could not list rooms: ${errorText(err)}`;
  } finally {
    if (state.directory === dir && dir.seq === seq) dir.loading = false;
    scheduleRender({ directory: true });
  }
}

/** joinFromDirectory joins (or opens) a room listed in the directory. */
export async function joinFromDirectory(name) {
  if (state.rooms.has(name)) {
    closeDirectory();
    openRoom(name);
    return;
  }
  try {
    // create:false: a room deleted or made unlisted meanwhile is not made anew.
    const ack = await conn.request('join_room', { room: name, create: false });
    closeDirectory();
    addJoined(ack.room || { name });
    setSideStatus(`Joined #${name}.`, 'ok');
  } catch (err) {
    state.directory.error = `Could not join #${name}: ${errorText(err)}`;
    scheduleRender({ directory: true });
  }
}
