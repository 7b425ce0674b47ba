// Reacting: adding or removing one's reaction on a message (react), and
// saying why when the server refuses it.

import { applyReactAck, heldMessage } from './state.js';
import { conn, connected } from './client.js';
import { toggleOf, reactErrorText } from './reactions.js';
import { errorText } from './format.js';
import { scheduleRender } from './render.js';
import { setComposerError, setThreadError } from './notices.js';

/**
 * react adds (add true) or removes the user's emoji on message seq of
 * room; inThread says which composer shows a refusal.
 */
export async function react(room, seq, emoji, add, { inThread = false } = {}) {
  const say = inThread ? setThreadError : setComposerError;
  if (!connected()) {
    say('Not connected. React again when the connection returns.');
    return;
  }
  try {
    const ack = await conn.request('react', { room, seq, emoji, add });
    if (applyReactAck(ack)) scheduleRender({ messages: true, thread: true });
    say('');
  } catch (err) {
    say(reactErrorText(err) || `Could not react: ${errorText(err)}`);
  }
}

/** toggleReaction adds the user's emoji on a message, or removes it if there. */
export function toggleReaction(room, seq, emoji, opts) {
  const m = heldMessage(room, seq);
  const { add } = toggleOf(m && m.reactions, emoji);
  return react(room, seq, emoji, add, opts);
}
