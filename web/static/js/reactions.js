// Reactions: the emoji people put on a message, and how the server's
// answers and events change a message's list of them. No DOM here (node
// tests import it directly).
//
// A message's reactions are [{emoji, count, me, users}] in the order each
// emoji was first used (docs/protocol.md). The reaction event carries the
// whole list without `me`, which is per reader: the reader's own `me`
// comes from `add` when the event is about them, and is kept otherwise.

/** COMMON_EMOJI are what the picker offers, each with a name to read out. */
export const COMMON_EMOJI = [
  { emoji: '👍', name: 'thumbs up' },
  { emoji: '❤️', name: 'heart' },
  { emoji: '😂', name: 'laughing' },
  { emoji: '🎉', name: 'party' },
  { emoji: '😮', name: 'surprised' },
  { emoji: '😢', name: 'sad' },
  { emoji: '🙏', name: 'thanks' },
  { emoji: '👀', name: 'eyes' },
  { emoji: '🚀', name: 'rocket' },
  { emoji: '✅', name: 'done' },
  { emoji: '🔥', name: 'fire' },
  { emoji: '👏', name: 'applause' },
];

/** MAX_DISTINCT is how many different emoji a message may carry. */
export const MAX_DISTINCT = 20;

function clean(list) {
  if (!Array.isArray(list)) return [];
  return list.filter((r) => r && typeof r.emoji === 'string' && r.emoji && Number(r.count) > 0);
}

/**
 * fromServer returns a message's reactions as an ack or a history page
 * gives them (with the reader's me), in the shape the app keeps.
 */
export function fromServer(list) {
  return clean(list).map((r) => ({
    emoji: r.emoji,
    count: Number(r.count),
    me: !!r.me,
    users: Array.isArray(r.users) ? r.users : [],
  }));
}

/**
 * applyReactionEvent returns the reactions old becomes after the reaction
 * event ev, as the user meId sees them.
 */
export function applyReactionEvent(old, ev, meId) {
  const mine = new Map(clean(old).map((r) => [r.emoji, !!r.me]));
  const self = !!(ev && ev.user && meId && ev.user.id === meId);
  return fromServer(ev && ev.reactions).map((r) => ({
    ...r,
    me: self && r.emoji === ev.emoji ? !!ev.add : (mine.get(r.emoji) || false),
  }));
}

/**
 * toggleOf says what a click on emoji asks for: to add the user's reaction
 * when they have none with it, else to remove it.
 */
export function toggleOf(reactions, emoji) {
  const r = clean(reactions).find((x) => x.emoji === emoji);
  return { emoji, add: !(r && r.me) };
}

/**
 * whoReacted names who reacted with r for a title or a label: "you" for
 * the reader, the others by name, and how many more the list leaves out.
 */
export function whoReacted(r, meId) {
  const users = Array.isArray(r.users) ? r.users : [];
  const names = [];
  let listedMe = false;
  for (const u of users) {
    if (u && u.id === meId) { listedMe = true; names.unshift('you'); } else if (u) names.push(u.username);
  }
  if (r.me && !listedMe) names.unshift('you');
  const more = Number(r.count) - names.length;
  if (more > 0) names.push(`${more} other${more === 1 ? '' : 's'}`);
  if (names.length <= 1) return names.join('');
  return `${names.slice(0, -1).join(', ')} and ${names[names.length - 1]}`;
}

/** reactionLabel is what a screen reader hears for a reaction's button. */
export function reactionLabel(r, meId) {
  const n = Number(r.count);
  const what = `${r.emoji} ${n} reaction${n === 1 ? '' : 's'}`;
  return `${what} from ${whoReacted(r, meId)}. ${r.me ? 'Remove yours' : 'Add yours'}`;
}

/** reactErrorText explains a refused reaction. */
export function reactErrorText(err) {
  if (err && err.code === 'conflict' && /deleted/i.test(err.message || '')) return 'That message was deleted: it cannot take reactions.';
  if (err && err.code === 'conflict') {
    return `That message already has ${MAX_DISTINCT} different reactions, the most it can have. Add one of those instead.`;
  }
  return '';
}
