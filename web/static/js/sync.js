// Recovery after a reconnect (PROTOCOL.md §6). No DOM here: the history
// request is passed in as a function.

/** GAP_THRESHOLD: beyond this many missed messages, skip to the newest page. */
export const GAP_THRESHOLD = 1000;
export const PAGE_SIZE = 100;
export const LATEST_PAGE = 50;

/**
 * planCatchUp decides how to recover a room whose last seen seq is lastSeen
 * when the connection's cursor (last_seq in welcome) is cursor:
 *   {kind:'none'}                  nothing was missed
 *   {kind:'forward', afterSeq}     page history after_seq until the cursor
 *   {kind:'latest', beforeSeq, gap} load the page ending at the cursor and
 *                                  show the rest as a gap
 */
export function planCatchUp(lastSeen, cursor, threshold = GAP_THRESHOLD) {
  const last = Math.max(0, lastSeen || 0);
  if (!(cursor > last)) return { kind: 'none' };
  const missed = cursor - last;
  if (missed > threshold) {
    return { kind: 'latest', beforeSeq: cursor + 1, gap: { from: last + 1, to: cursor } };
  }
  return { kind: 'forward', afterSeq: last };
}

/**
 * catchUp runs a plan. fetchPage(query) must resolve to the history ack
 * {messages, has_more}; onPage(messages) receives each page in order. It
 * returns {fetched, gap}: gap is the missing range left to show, or null.
 */
export async function catchUp({ lastSeen, cursor, fetchPage, onPage, threshold = GAP_THRESHOLD, maxPages = 20 }) {
  const plan = planCatchUp(lastSeen, cursor, threshold);
  let fetched = 0;
  if (plan.kind === 'none') return { fetched, gap: null };
  if (plan.kind === 'latest') {
    const res = await fetchPage({ before_seq: plan.beforeSeq, limit: LATEST_PAGE });
    const msgs = (res && res.messages) || [];
    onPage(msgs);
    fetched += msgs.length;
    const min = msgs.length ? msgs[0].seq : plan.beforeSeq;
    const gap = min - 1 >= plan.gap.from ? { from: plan.gap.from, to: min - 1 } : null;
    return { fetched, gap };
  }
  let after = plan.afterSeq;
  let done = false;
  for (let i = 0; i < maxPages && !done; i++) {
    const res = await fetchPage({ after_seq: after, limit: PAGE_SIZE });
    const msgs = (res && res.messages) || [];
    onPage(msgs);
    fetched += msgs.length;
    const last = msgs.length ? msgs[msgs.length - 1].seq : after;
    // Stop at the cursor, at the end, or if the server does not advance.
    done = !(last > after) || last >= cursor || !res.has_more;
    after = Math.max(after, last);
  }
  // Whatever maxPages did not reach is still missing: show it as a gap.
  return { fetched, gap: !done && after < cursor ? { from: after + 1, to: cursor } : null };
}

/**
 * gapFillQuery is the history request that loads the newest part of a gap
 * (the messages right above what the user sees).
 */
export function gapFillQuery(gap, limit = PAGE_SIZE) {
  return { before_seq: gap.to + 1, limit };
}
