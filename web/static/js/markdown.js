// A small, safe subset of Markdown for chat messages: **bold**, *italic*
// (or _italic_), `code`, fenced code blocks, > quotes, - and 1. lists,
// [label](url) links, bare http/https/mailto URLs and @mentions.
//
// parse() turns text into a tree of plain objects (no DOM, so node tests
// cover it); render() builds DOM nodes from the tree with createElement and
// textContent only, never innerHTML, so no text can become markup. The raw
// text stays what the server stores and what bots receive.
//
// Every step is linear in the text or close to it: a delimiter that finds
// no closer once is not searched for again, and nesting is bounded, so a
// 4000-character message of pathological Markdown renders at once.

const MAX_DEPTH = 4; // nesting of quotes and of inline emphasis

/** A node: {type, text?, children?, href?, name?, lang?, start?}. */

/** parse returns the block nodes of text. */
export function parse(text) {
  return parseBlocks(String(text).replace(/\r\n?/g, '\n').split('\n'), 0);
}

const FENCE = /^ {0,3}(`{3,}|~{3,})\s*([\w+#.-]*)\s*$/;
const QUOTE = /^ {0,3}> ?(.*)$/;
const BULLET = /^ {0,3}[-*+] +(.*)$/;
const ORDERED = /^ {0,3}(\d{1,9})[.)] +(.*)$/;

function parseBlocks(lines, depth) {
  const out = [];
  let para = [];
  const endPara = () => {
    if (para.length > 0) out.push({ type: 'p', children: inlineLines(para, 0) });
    para = [];
  };
  for (let i = 0; i < lines.length;) {
    const line = lines[i];
    let m;
    if ((m = FENCE.exec(line))) {
      endPara();
      const fence = m[1];
      const body = [];
      let j = i + 1;
      while (j < lines.length && !(lines[j].trim().startsWith(fence[0].repeat(fence.length)) &&
        lines[j].trim().replace(new RegExp(`^\\${fence[0]}+`), '') === '')) {
        body.push(lines[j]);
        j++;
      }
      out.push({ type: 'code', lang: m[2] || '', text: body.join('\n') });
      i = j + 1; // past the closing fence (or the end: an unclosed fence runs to it)
      continue;
    }
    if (depth < MAX_DEPTH && QUOTE.test(line)) {
      endPara();
      const inner = [];
      while (i < lines.length && (m = QUOTE.exec(lines[i]))) {
        inner.push(m[1]);
        i++;
      }
      out.push({ type: 'quote', children: parseBlocks(inner, depth + 1) });
      continue;
    }
    if (BULLET.test(line) || ORDERED.test(line)) {
      endPara();
      const ordered = !BULLET.test(line);
      const re = ordered ? ORDERED : BULLET;
      const items = [];
      let start = 1;
      if (ordered) start = Number(ORDERED.exec(line)[1]);
      while (i < lines.length && (m = re.exec(lines[i]))) {
        items.push({ type: 'li', children: parseInline(ordered ? m[2] : m[1], 0) });
        i++;
      }
      out.push(ordered ? { type: 'ol', start, children: items } : { type: 'ul', children: items });
      continue;
    }
    if (line.trim() === '') {
      endPara();
    } else {
      para.push(line);
    }
    i++;
  }
  endPara();
  return out;
}

/** inlineLines parses a paragraph's lines, keeping its line breaks. */
function inlineLines(lines, depth) {
  const out = [];
  lines.forEach((line, i) => {
    if (i > 0) out.push({ type: 'br' });
    out.push(...parseInline(line, depth));
  });
  return out;
}

const SCHEMES = ['https://', 'http://', 'mailto:'];
const ESCAPABLE = '\\`*_{}[]()#+-.!>~|@';
const MENTION = /^@([A-Za-z0-9_.-]{3,32}|room)(?![A-Za-z0-9_-])/;
const WORD = /[\p{L}\p{N}_]/u;

/** safeHref returns url if its scheme is http, https or mailto, else ''. */
export function safeHref(url) {
  const u = url.trim();
  const lower = u.toLowerCase();
  if (!SCHEMES.some(s => lower.startsWith(s)) || u.length <= 8) return '';
  if (/[\s<>"]/.test(u)) return '';
  return u;
}

/** parseInline returns the inline nodes of one line (or span) of text. */
export function parseInline(s, depth = 0) {
  const out = [];
  let text = '';
  const flush = () => {
    if (text) out.push({ type: 'text', text });
    text = '';
  };
  const push = node => { flush(); out.push(node); };
  // Delimiters searched for a closer in vain: none will be found later
  // either, since the search runs to the end of s.
  const noCloser = new Set();

  for (let i = 0; i < s.length;) {
    const c = s[i];
    const prev = i > 0 ? s[i - 1] : ' ';
    if (c === '\\' && i + 1 < s.length && ESCAPABLE.includes(s[i + 1])) {
      text += s[i + 1];
      i += 2;
      continue;
    }
    if (c === '`') {
      let n = 1;
      while (s[i + n] === '`') n++;
      const fence = '`'.repeat(n);
      const key = 'code' + n;
      let j = noCloser.has(key) ? -1 : s.indexOf(fence, i + n);
      while (j >= 0 && s[j + n] === '`') { // a longer run is not a closer
        let k = j;
        while (s[k] === '`') k++;
        j = s.indexOf(fence, k);
      }
      if (j < 0) {
        noCloser.add(key);
        text += fence;
        i += n;
        continue;
      }
      let code = s.slice(i + n, j);
      if (code.length > 2 && code.startsWith(' ') && code.endsWith(' ')) code = code.slice(1, -1);
      push({ type: 'code', text: code });
      i = j + n;
      continue;
    }
    if ((c === '*' || c === '_') && depth < MAX_DEPTH) {
      const strong = s[i + 1] === c;
      const delim = strong ? c + c : c;
      const n = delim.length;
      const opensWord = c === '_' ? !WORD.test(prev) : true;
      const next = s[i + n];
      const j = opensWord && next !== undefined && next !== ' ' && next !== c && !noCloser.has(delim)
        ? findCloser(s, delim, i + n) : -1;
      if (j > i + n) {
        push({ type: strong ? 'strong' : 'em', children: parseInline(s.slice(i + n, j), depth + 1) });
        i = j + n;
        continue;
      }
      if (j < 0 && opensWord && next !== undefined && next !== ' ' && next !== c) noCloser.add(delim);
      text += delim;
      i += n;
      continue;
    }
    if (c === '[') {
      const link = parseLink(s, i, depth);
      if (link) {
        push(link.node);
        i = link.end;
        continue;
      }
    }
    if (!WORD.test(prev) && (c === 'h' || c === 'H' || c === 'm' || c === 'M')) {
      const end = autolinkEnd(s, i);
      if (end > i) {
        const url = s.slice(i, end);
        push({ type: 'link', href: url, children: [{ type: 'text', text: url.replace(/^mailto:/i, '') }] });
        i = end;
        continue;
      }
    }
    if (c === '@' && !WORD.test(prev)) {
      const m = MENTION.exec(s.slice(i, i + 40));
      const name = m ? m[1].replace(/[.-]+$/, '') : ''; // "@bob." ends a sentence
      if (name.length >= 3) {
        push({ type: 'mention', name });
        i += 1 + name.length;
        continue;
      }
    }
    text += c;
    i++;
  }
  flush();
  return out;
}

/**
 * findCloser finds delim closing an emphasis opened before from: not
 * preceded by a space, and for _ not followed by a word character.
 */
function findCloser(s, delim, from) {
  for (let j = s.indexOf(delim, from); j >= 0; j = s.indexOf(delim, j + 1)) {
    if (s[j - 1] === ' ' || j === from) continue;
    const after = s[j + delim.length];
    if (delim.length === 1 && after === delim) { // part of a ** run: skip the run
      j++;
      continue;
    }
    if (delim[0] === '_' && after !== undefined && WORD.test(after)) continue;
    if (delim.length === 2) {
      while (s[j + 2] === delim[0]) j++; // **bold *italic*** closes on the run's last two
    }
    return j;
  }
  return -1;
}

/** parseLink reads [label](url) at i, if it is one with a safe url. */
function parseLink(s, i, depth) {
  const close = s.indexOf('](', i + 1);
  if (close < 0) return null;
  const label = s.slice(i + 1, close);
  if (label.includes('[') || label.includes(']') || label.trim() === '') return null;
  const end = s.indexOf(')', close + 2);
  if (end < 0) return null;
  const href = safeHref(s.slice(close + 2, end));
  if (!href) return null;
  return { node: { type: 'link', href, children: parseInline(label, depth + 1).filter(n => n.type !== 'link') }, end: end + 1 };
}

/**
 * autolinkEnd returns where a bare URL starting at i ends (i if there is
 * none): at white space or <, less trailing punctuation, and less a
 * closing parenthesis that opens nowhere in the URL.
 */
function autolinkEnd(s, i) {
  const head = s.slice(i, i + 8).toLowerCase();
  const scheme = SCHEMES.find(p => head.startsWith(p));
  if (!scheme) return i;
  let end = i + scheme.length;
  while (end < s.length && !/[\s<>"]/.test(s[end])) end++;
  for (;;) {
    const last = s[end - 1];
    if ('.,;:!?\'*_'.includes(last)) {
      end--;
    } else if (last === ')') {
      const url = s.slice(i, end);
      if ((url.match(/\(/g) || []).length >= (url.match(/\)/g) || []).length) break;
      end--;
    } else {
      break;
    }
  }
  return end - i > scheme.length ? end : i;
}

const EMOJI_ONLY = /^(?:\p{Extended_Pictographic}|\p{Regional_Indicator}|\p{Emoji_Modifier}|[\u200d\ufe0f\u20e3]|\s)+$/u;
const PICTOGRAPH = /\p{Extended_Pictographic}|\p{Regional_Indicator}/gu;

/** emojiOnly reports whether text is one to eight emoji and nothing else. */
export function emojiOnly(text) {
  const t = String(text).trim();
  if (t === '' || t.length > 64 || !EMOJI_ONLY.test(t)) return false;
  const n = (t.match(PICTOGRAPH) || []).length;
  return n >= 1 && n <= 8;
}

/** mentions returns the names text mentions with @, lower-cased, once each. */
export function mentions(text) {
  const names = new Set();
  const walk = nodes => {
    for (const n of nodes) {
      if (n.type === 'mention') names.add(n.name.toLowerCase());
      if (n.children) walk(n.children);
    }
  };
  walk(parse(text));
  return [...names];
}

/**
 * render builds the DOM nodes of a parsed tree into a fragment of doc.
 * isMe(name) says whether a mention names the reader, for its highlight.
 */
export function render(nodes, doc = document, isMe = () => false) {
  const frag = doc.createDocumentFragment();
  for (const n of nodes) frag.append(renderNode(n, doc, isMe));
  return frag;
}

const TAGS = { p: 'p', quote: 'blockquote', ul: 'ul', ol: 'ol', li: 'li', strong: 'strong', em: 'em' };

function renderNode(n, doc, isMe) {
  switch (n.type) {
    case 'text':
      return doc.createTextNode(n.text);
    case 'br': // a line break of the text, as it was typed: copied and read out as one
      return doc.createTextNode('\n');
    case 'code': {
      const code = doc.createElement('code');
      code.textContent = n.text;
      if (n.lang === undefined) return code; // inline
      const pre = doc.createElement('pre');
      if (n.lang) code.dataset.lang = n.lang;
      pre.append(code);
      return pre;
    }
    case 'link': {
      const a = doc.createElement('a');
      a.href = n.href;
      a.rel = 'noopener noreferrer';
      a.target = '_blank';
      for (const c of n.children) a.append(renderNode(c, doc, isMe));
      return a;
    }
    case 'mention': {
      const span = doc.createElement('span');
      span.className = isMe(n.name) ? 'mention me' : 'mention';
      span.textContent = '@' + n.name;
      return span;
    }
    default: {
      const el = doc.createElement(TAGS[n.type] || 'span');
      if (n.type === 'ol' && n.start !== 1) el.start = n.start;
      for (const c of n.children || []) el.append(renderNode(c, doc, isMe));
      return el;
    }
  }
}
