// A message's reactions, drawn from the message: one toggle button per
// emoji (its count, pressed when the user reacted with it, a title naming
// who did). Clicks are wired in app.js (data-action="toggle-reaction").

import { reactionLabel, whoReacted } from './reactions.js';
import { textSpan } from './dom.js';

/** reactionsBar returns the reactions row of message m, or null when it has none. */
export function reactionsBar(m, meId) {
  const list = !m.deleted && Array.isArray(m.reactions) ? m.reactions : [];
  if (!list.length) return null;
  const bar = document.createElement('div');
  bar.className = 'reactions';
  for (const r of list) {
    const b = document.createElement('button');
    b.type = 'button';
    b.className = `reaction${r.me ? ' me' : ''}`;
    b.dataset.action = 'toggle-reaction';
    b.dataset.emoji = r.emoji;
    b.setAttribute('aria-pressed', r.me ? 'true' : 'false');
    b.setAttribute('aria-label', reactionLabel(r, meId));
    b.title = `${whoReacted(r, meId)} reacted with ${r.emoji}`;
    const e = textSpan('reaction-emoji', r.emoji);
    const n = textSpan('reaction-count', String(r.count));
    b.append(e, n);
    bar.append(b);
  }
  return bar;
}

/** reactionsSig is what the bar shows, to tell whether to draw it again. */
export function reactionsSig(m) {
  return !m.deleted && Array.isArray(m.reactions) ? JSON.stringify(m.reactions) : '';
}
