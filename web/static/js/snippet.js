// Search results without the DOM: a snippet's highlighted parts, and the
// search request a form's fields make. The view (view-search.js) turns
// parts into text nodes and <mark> elements, never HTML.

/** The server wraps each matched word in these two private-use characters. */
export const MARK_START = '\uE000';
export const MARK_END = '\uE001';

/**
 * snippetParts splits a snippet into [{text, mark}] runs. A marker that
 * does not pair up is dropped: a stray one shows as a wrong highlight at
 * worst, never as a character or markup.
 */
export function snippetParts(snippet) {
  const parts = [];
  let mark = false;
  let buf = '';
  const flush = () => {
    if (buf) parts.push({ text: buf, mark });
    buf = '';
  };
  for (const ch of String(snippet || '')) {
    if (ch === MARK_START || ch === MARK_END) {
      const want = ch === MARK_START;
      if (want !== mark) { flush(); mark = want; }
      continue;
    }
    buf += ch;
  }
  flush();
  // Runs of the same kind next to each other (from stray markers) merge.
  const out = [];
  for (const p of parts) {
    const last = out[out.length - 1];
    if (last && last.mark === p.mark) last.text += p.text;
    else out.push({ ...p });
  }
  return out;
}

/** MAX_QUERY_CHARS is the server's bound on a search query. */
export const MAX_QUERY_CHARS = 200;

/**
 * searchRequest makes the search payload from the form's fields, or
 * returns {error} for one the server would refuse.
 */
export function searchRequest({ query, room = '', from = '', cursor = '', limit = 20 }) {
  const q = String(query || '').trim();
  if (!q) return { error: 'Type something to search for.' };
  if ([...q].length > MAX_QUERY_CHARS) return { error: `A search is at most ${MAX_QUERY_CHARS} characters.` };
  const p = { query: q, limit };
  if (room) p.room = room;
  const who = String(from || '').trim().replace(/^@/, '');
  if (who) p.from = who;
  if (cursor) p.cursor = cursor;
  return { payload: p };
}
