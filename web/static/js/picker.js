// The emoji picker: a small popup of common emoji beside the button that
// opened it. Arrow keys, Home and End move between the emoji, Enter or a
// click picks one, Escape (or Tab, or a click elsewhere) closes it and
// focus goes back to the button.

import { COMMON_EMOJI } from './reactions.js';

const COLUMNS = 6;

let el = null;
let opener = null;
let onPick = null;

function build() {
  el = document.createElement('div');
  el.id = 'emoji-picker';
  el.className = 'emoji-picker';
  el.setAttribute('role', 'dialog');
  el.setAttribute('aria-label', 'Add a reaction');
  el.hidden = true;
  const grid = document.createElement('div');
  grid.className = 'emoji-grid';
  for (const { emoji, name } of COMMON_EMOJI) {
    const b = document.createElement('button');
    b.type = 'button';
    b.className = 'emoji-choice';
    b.dataset.emoji = emoji;
    b.textContent = emoji;
    b.title = name;
    b.setAttribute('aria-label', `${emoji} ${name}`);
    grid.append(b);
  }
  el.append(grid);
  el.addEventListener('click', (e) => {
    const b = e.target.closest('.emoji-choice');
    if (!b) return;
    const pick = onPick;
    closePicker();
    if (pick) pick(b.dataset.emoji);
  });
  el.addEventListener('keydown', onKey);
  document.body.append(el);
  document.addEventListener('pointerdown', (e) => {
    if (!el.hidden && !el.contains(e.target) && e.target !== opener) closePicker(false);
  }, true);
}

function onKey(e) {
  const buttons = [...el.querySelectorAll('.emoji-choice')];
  const i = buttons.indexOf(document.activeElement);
  let next = -1;
  switch (e.key) {
    case 'ArrowRight': next = (i + 1) % buttons.length; break;
    case 'ArrowLeft': next = (i - 1 + buttons.length) % buttons.length; break;
    case 'ArrowDown': next = Math.min(buttons.length - 1, i + COLUMNS); break;
    case 'ArrowUp': next = Math.max(0, i - COLUMNS); break;
    case 'Home': next = 0; break;
    case 'End': next = buttons.length - 1; break;
    case 'Escape': case 'Tab':
      e.preventDefault();
      e.stopPropagation(); // Escape closes the picker only, not the thread panel behind it
      closePicker();
      return;
    default: return;
  }
  e.preventDefault();
  buttons[next].focus();
}

/** pickerOpen reports whether the picker is shown. */
export function pickerOpen() { return !!el && !el.hidden; }

/** openPicker shows the picker by button; pick(emoji) is called with the choice. */
export function openPicker(button, pick) {
  if (!el) build();
  opener = button;
  onPick = pick;
  el.hidden = false;
  button.setAttribute('aria-expanded', 'true');
  // Below the button, kept inside the window (CSSOM: allowed by the CSP).
  const r = button.getBoundingClientRect();
  const w = el.offsetWidth, h = el.offsetHeight;
  const left = Math.max(8, Math.min(r.right - w, window.innerWidth - w - 8));
  const top = r.bottom + 4 + h > window.innerHeight ? Math.max(8, r.top - h - 4) : r.bottom + 4;
  el.style.left = `${left}px`;
  el.style.top = `${top}px`;
  el.querySelector('.emoji-choice').focus();
}

/** closePicker hides the picker; refocus gives focus back to its button. */
export function closePicker(refocus = true) {
  if (!el || el.hidden) return;
  el.hidden = true;
  const b = opener;
  opener = null;
  onPick = null;
  if (b) {
    b.setAttribute('aria-expanded', 'false');
    if (refocus && b.isConnected) b.focus();
  }
}
