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
