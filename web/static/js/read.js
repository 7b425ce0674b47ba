// Read markers: the room shown is marked read up to its newest message
// while the user can see it, a moment after it changes.

import { state, applyReadMarker } from './state.js';
import { conn, connected } from './client.js';
import { scheduleRender } from './render.js';

let markTimers = new Map(); // room -> timer

/** viewing reports whether the user can see the page now. */
export function viewing() {
  return document.visibilityState === 'visible' && document.hasFocus();
}

export function scheduleMarkRead(name) {
  if (!name || markTimers.has(name)) return;
  markTimers.set(name, setTimeout(() => {
    markTimers.delete(name);
    markRead(name);
  }, 250));
}

async function markRead(name) {
  if (name !== state.current || !viewing() || !connected()) return;
  const room = state.rooms.get(name);
  const store = state.stores.get(name);
  if (!room || !store || !store.loaded || store.syncing) return;
  const seq = store.newestSeq;
  if (!seq || (seq <= room.readSeq && room.unread === 0)) return;
  room.readSeq = Math.max(room.readSeq, seq);
  room.unread = 0; // optimistic; the ack has the server's count
  room.mentions = 0;
  scheduleRender({ sidebar: true });
  try {
    const ack = await conn.request('mark_read', { room: name, seq });
    if (ack && ack.room === name && Number.isFinite(ack.unread)) {
      applyReadMarker(room, Number(ack.seq) || seq, Number(ack.unread));
      if (Number.isFinite(ack.mentions)) room.mentions = ack.mentions;
      scheduleRender({ sidebar: true });
    }
  } catch {
    // The next view or message marks it again.
  }
}

export function resetRead() {
  for (const t of markTimers.values()) clearTimeout(t);
  markTimers = new Map();
}
