// Reconnect delays: exponential backoff with jitter, capped. No DOM here.

export const BASE_MS = 500;
export const CAP_MS = 30000;

/**
 * backoffDelay returns how long to wait before reconnect attempt number
 * attempt (0 for the first retry). It uses "equal jitter": half of the
 * exponential step is fixed, half random, so a server restart does not bring
 * every client back in the same instant, yet no client waits for nothing.
 * The result never exceeds cap.
 */
export function backoffDelay(attempt, { base = BASE_MS, cap = CAP_MS, random = Math.random } = {}) {
  const n = Math.max(0, Math.floor(attempt) || 0);
  const step = Math.min(cap, base * 2 ** Math.min(n, 30));
  const half = step / 2;
  return Math.min(cap, Math.round(half + random() * half));
}

/** Backoff counts attempts; reset it once a connection has proved healthy. */
export class Backoff {
  constructor(opts = {}) {
    this.opts = opts;
    this.attempt = 0;
  }
  next() { return backoffDelay(this.attempt++, this.opts); }
  reset() { this.attempt = 0; }
}
