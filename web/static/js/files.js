// Files (issue 9), the DOM-free part: sizes for people, what a failed
// upload tells them, and the box a thumbnail takes. Node tests import it.

/** DEFAULT_MAX_UPLOAD_BYTES is the server's default limit (25 MiB), until the welcome says. */
export const DEFAULT_MAX_UPLOAD_BYTES = 25 * 1024 * 1024;

/** THUMB_SIZE bounds a thumbnail's width and height, as the server makes it. */
export const THUMB_SIZE = 320;

/** formatSize writes a byte count for people: "812 B", "4.2 KB", "25 MB". */
export function formatSize(n) {
  if (!(n >= 0)) return '';
  if (n < 1024) return `${n} B`;
  const units = ['KB', 'MB', 'GB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
  return `${v < 10 ? v.toFixed(1).replace(/\.0$/, '') : Math.round(v)} ${units[i]}`;
}

/** tooLargeText says that a file is over the limit, before it is sent. */
export function tooLargeText(size, limit) {
  return `Too large: ${formatSize(size)}; files can be at most ${formatSize(limit)}.`;
}

/**
 * uploadErrorText says why an upload failed, from the HTTP status and the
 * server's JSON error (if any).
 */
export function uploadErrorText(status, body, size, limit) {
  const msg = body && body.error && body.error.message;
  switch (status) {
    case 0: return 'The upload failed: no connection to chatd. Try again once online.';
    case 401: return 'Your session has ended: sign in again to upload.';
    case 413: return tooLargeText(size, limit);
    case 429: return 'Too many uploads at once: try again in a moment.';
    default: return msg ? `The upload failed: ${msg}` : `The upload failed (HTTP ${status}).`;
  }
}

/** thumbBox is the size a thumbnail of a w×h image shows at (never larger than it). */
export function thumbBox(w, h, max = THUMB_SIZE) {
  if (!(w > 0 && h > 0)) return { width: 0, height: 0 };
  if (w <= max && h <= max) return { width: w, height: h };
  return w >= h
    ? { width: max, height: Math.max(1, Math.floor((h * max) / w)) }
    : { width: Math.max(1, Math.floor((w * max) / h)), height: max };
}
