// Small DOM helpers shared by the views. Content goes in as textContent or
// attribute values, never as HTML.

export const $ = (id) => document.getElementById(id);

// reconcile makes parent's children exactly nodes, in order, moving as few
// elements as it can (so focus, selection and scroll position survive).
export function reconcile(parent, nodes) {
  const keep = new Set(nodes);
  for (const child of [...parent.children]) if (!keep.has(child)) child.remove();
  let cur = parent.firstChild;
  for (const n of nodes) {
    if (n === cur) cur = cur.nextSibling;
    else parent.insertBefore(n, cur);
  }
}

// textSpan is a span of class cls that shows text.
export function textSpan(cls, text) {
  const s = document.createElement('span');
  s.className = cls;
  s.textContent = text;
  return s;
}

// actionButton is a button whose accessible name (label) contains its
// visible text, so that voice control finds it by what it shows.
export function actionButton(cls, action, text, label) {
  const b = document.createElement('button');
  b.type = 'button';
  b.className = cls;
  b.dataset.action = action;
  b.textContent = text;
  b.setAttribute('aria-label', label);
  return b;
}

// lockIcon is a small padlock, drawn rather than an emoji so it looks the
// same with every font.
export function lockIcon() {
  const NS = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(NS, 'svg');
  svg.setAttribute('viewBox', '0 0 16 16');
  svg.setAttribute('width', '13');
  svg.setAttribute('height', '13');
  svg.setAttribute('class', 'lock');
  svg.setAttribute('aria-hidden', 'true');
  const path = document.createElementNS(NS, 'path');
  path.setAttribute('fill', 'currentColor');
  path.setAttribute('d', 'M5 7V5a3 3 0 0 1 6 0v2h.5A1.5 1.5 0 0 1 13 8.5v5a1.5 1.5 0 0 1-1.5 1.5h-7A1.5 1.5 0 0 1 3 13.5v-5A1.5 1.5 0 0 1 4.5 7H5zm1.5 0h3V5a1.5 1.5 0 0 0-3 0v2z');
  svg.append(path);
  return svg;
}
