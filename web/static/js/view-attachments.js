// The files of messages, and the tray of uploads above the composer
// (issue 9). Views only: they draw from what they are given and never
// change it. Names go in as textContent, links as attribute values.

import { formatSize, thumbBox } from './files.js';
import { actionButton, textSpan } from './dom.js';

/**
 * attachmentsView shows a message's files: an image the server decoded as
 * its thumbnail, which opens the full image; any other file as a link that
 * downloads it, with its name and size. Null for none.
 */
export function attachmentsView(atts) {
  if (!Array.isArray(atts) || atts.length === 0) return null;
  const box = document.createElement('div');
  box.className = 'attachments';
  for (const a of atts) {
    if (!a || typeof a.url !== 'string' || !a.url.startsWith('/files/')) continue;
    const link = document.createElement('a');
    link.href = a.url;
    link.dataset.fileId = a.id || '';
    if (a.thumb && a.width > 0 && a.height > 0 && typeof a.thumb === 'string' && a.thumb.startsWith('/thumbs/')) {
      link.className = 'att-image';
      link.target = '_blank';
      link.rel = 'noopener';
      link.title = `${a.name} · ${a.width}×${a.height} · ${formatSize(a.size)}. Opens full size.`;
      const img = document.createElement('img');
      const { width, height } = thumbBox(a.width, a.height);
      img.src = a.thumb;
      img.alt = a.name || 'image';
      img.width = width;
      img.height = height;
      img.loading = 'lazy';
      img.decoding = 'async';
      link.append(img);
    } else {
      link.className = 'att-file';
      link.download = a.name || 'file';
      const icon = document.createElement('span');
      icon.className = 'att-icon';
      icon.setAttribute('aria-hidden', 'true');
      icon.textContent = '📄';
      const name = textSpan('att-name', a.name || 'file');
      const size = textSpan('att-size', formatSize(a.size));
      link.append(icon, name, size);
      link.setAttribute('aria-label', `Download ${a.name} (${formatSize(a.size)})`);
    }
    box.append(link);
  }
  return box;
}

/** attachmentsSig is what of atts a message's element depends on. */
export function attachmentsSig(atts) {
  return Array.isArray(atts) ? atts.map((a) => a && a.id).join(',') : '';
}

/**
 * renderTray draws the uploads of the room shown: each with its name, a
 * progress bar while it uploads, why it failed, and its buttons.
 */
export function renderTray(tray, uploads) {
  const items = uploads.map((u) => {
    const li = document.createElement('li');
    li.className = `upload ${u.status}`;
    li.dataset.key = String(u.key);
    li.dataset.status = u.status;
    const name = textSpan('upload-name', u.name);
    const size = textSpan('upload-size', formatSize(u.size));
    li.append(name, size);
    if (u.status === 'uploading') {
      const bar = document.createElement('progress');
      bar.className = 'upload-progress';
      bar.max = Math.max(1, u.size);
      bar.value = Math.min(u.loaded, u.size);
      bar.setAttribute('aria-label', `Uploading ${u.name}`);
      li.append(bar);
    } else if (u.status === 'failed') {
      const why = document.createElement('span');
      why.className = 'upload-error';
      why.setAttribute('role', 'alert');
      why.textContent = u.error;
      li.append(why);
      if (u.retryable) li.append(actionButton('upload-retry link-btn', 'upload-retry', 'Retry', `Retry uploading ${u.name}`));
    } else {
      const ok = textSpan('upload-done', 'Ready to send');
      li.append(ok);
    }
    li.append(actionButton('upload-remove link-btn', 'upload-remove', 'Remove', `Remove ${u.name}`));
    return li;
  });
  tray.replaceChildren(...items);
  tray.hidden = items.length === 0;
}
