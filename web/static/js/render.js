// Rendering on demand: whatever changes state asks for the parts of the
// page that show it, and they are drawn once, together, in a microtask.

import { state } from './state.js';
import { renderSidebar } from './view-sidebar.js';
import { renderHeader, renderConn, renderTyping } from './view-header.js';
import { renderMessagePane } from './view-messages.js';
import { renderThread } from './view-thread.js';
import { renderDirectory } from './view-directory.js';
import { renderRoomDialog } from './view-members.js';

let queued = false;
const none = () => ({ sidebar: false, header: false, messages: false, conn: false, typing: false, thread: false, directory: false, details: false });
let flags = none();

/** scheduleRender asks for the named parts to be drawn from state. */
export function scheduleRender(want) {
  for (const k of Object.keys(want)) if (want[k]) flags[k] = true;
  if (queued) return;
  queued = true;
  // A microtask, not requestAnimationFrame: hidden tabs must keep their
  // badges and title current.
  Promise.resolve().then(() => {
    queued = false;
    const f = flags;
    flags = none();
    if (!state.me) return;
    if (f.conn) renderConn();
    if (f.sidebar) renderSidebar();
    if (f.header) renderHeader();
    if (f.typing) renderTyping();
    if (f.messages) renderMessagePane();
    // The thread panel shows messages of the room too (its outbox entries,
    // edits): it is drawn with the messages.
    if (f.thread || f.messages) renderThread();
    if (f.directory) renderDirectory();
    if (f.details || f.header) renderRoomDialog();
  });
}
