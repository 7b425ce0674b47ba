// The rooms drawer of narrow screens: below 720 px the sidebar slides in
// over the room, and keyboard focus stays in it, as in a dialog.

import { $ } from './dom.js';

export function isNarrow() { return window.matchMedia('(max-width: 720px)').matches; }

export function drawerOpen() { return $('app-view').classList.contains('drawer-open'); }

export function openDrawer() {
  $('app-view').classList.add('drawer-open');
  $('sidebar-toggle').setAttribute('aria-expanded', 'true');
  $('scrim').hidden = false;
  $('main').inert = true; // Tab stays in the drawer, as in a dialog
  const cur = document.querySelector('.room-btn[aria-current="page"]') || document.querySelector('.room-btn');
  if (cur) cur.focus();
}

export function closeDrawer() {
  if (!drawerOpen()) return;
  $('app-view').classList.remove('drawer-open');
  $('sidebar-toggle').setAttribute('aria-expanded', 'false');
  $('scrim').hidden = true;
  $('main').inert = false;
}

// The thread panel sits beside the room on a wide window. On a narrower
// one it slides over the room, and the rest of the page is inert while it
// is open, as for the rooms drawer.
const THREAD_OVERLAY = '(max-width: 1000px)';

/** threadOverlays reports whether the thread panel covers the room. */
export function threadOverlays() { return window.matchMedia(THREAD_OVERLAY).matches; }

/** syncThreadDrawer lays the page out for the thread panel, open or not. */
export function syncThreadDrawer(open) {
  const app = $('app-view');
  if (app.classList.contains('thread-open') === open && (!open || $('main').inert === threadOverlays())) return;
  app.classList.toggle('thread-open', open);
  const over = open && threadOverlays();
  $('main').inert = over || drawerOpen();
  $('sidebar').inert = over;
  $('scrim').hidden = !(over || drawerOpen());
}
