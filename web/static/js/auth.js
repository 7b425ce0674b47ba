// The sign-in screen and the session over HTTP: asking who is signed in,
// signing in or up, and the hint that says whether this browser has a
// session at all.

import { USERNAME_RE } from './format.js';
import { $ } from './dom.js';

/**
 * fetchMe asks who is signed in: {status: 'ok', user}, or status
 * 'unauthorized' or 'unreachable'.
 */
export async function fetchMe() {
  try {
    const res = await fetch('/api/me', { credentials: 'same-origin', cache: 'no-store', headers: { Accept: 'application/json' } });
    if (res.status === 401) return { status: 'unauthorized' };
    if (!res.ok) return { status: 'unreachable' };
    const body = await res.json();
    return body && body.user ? { status: 'ok', user: body.user } : { status: 'unreachable' };
  } catch {
    return { status: 'unreachable' };
  }
}

// The session cookie is HttpOnly, so the page cannot see it. A hint in
// localStorage says whether this browser signed in; without it, boot goes
// straight to the sign-in form instead of asking /api/me for a 401
// (which the browser would log as a console error).
export function signedInHint() {
  try {
    return window.localStorage.getItem('chatd.signedIn') === '1';
  } catch {
    return true; // no storage: ask the server
  }
}

export function setSignedInHint(on) {
  try {
    if (on) window.localStorage.setItem('chatd.signedIn', '1');
    else window.localStorage.removeItem('chatd.signedIn');
  } catch {
    // Storage unavailable: boot asks the server every time.
  }
}

/** showAuth shows the sign-in screen, with a message if there is one. */
export function showAuth(message) {
  setSignedInHint(false);
  $('boot').hidden = true;
  $('app-view').hidden = true;
  $('auth-view').hidden = false;
  $('skip-link').hidden = true; // it leads to the composer, which is not shown
  document.title = 'Sign in · chatd';
  setAuthError(message || '');
  setAuthBusy(false);
  const u = $('login-username');
  (u.value ? $('login-password') : u).focus();
}

function setAuthError(text, field) {
  const el = $('auth-error');
  el.textContent = text;
  el.hidden = !text;
  for (const id of ['login-username', 'login-password']) $(id).removeAttribute('aria-invalid');
  if (field) {
    $(field).setAttribute('aria-invalid', 'true');
    $(field).focus();
  }
}

function setAuthBusy(busy) {
  $('login-submit').disabled = busy;
  $('register-submit').disabled = busy;
}

/**
 * doAuth signs in (kind 'login') or up ('register') with the form's
 * fields. It returns the user, or null after showing what went wrong.
 */
export async function doAuth(kind) {
  const username = $('login-username').value.trim();
  const password = $('login-password').value;
  if (!USERNAME_RE.test(username)) {
    setAuthError(username ? 'Usernames are 3–32 letters, digits, “_”, “.” or “-”.' : 'Enter your username.', 'login-username');
    return null;
  }
  if (kind === 'register' && password.length < 8) {
    setAuthError('Choose a password of at least 8 characters.', 'login-password');
    return null;
  }
  if (!password) {
    setAuthError('Enter your password.', 'login-password');
    return null;
  }
  setAuthError('');
  setAuthBusy(true);
  let res;
  let body = null;
  try {
    res = await fetch(`/api/${kind}`, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
      body: JSON.stringify({ username, password }),
    });
    try { body = await res.json(); } catch { body = null; }
  } catch {
    setAuthBusy(false);
    setAuthError('Cannot reach the server. Check your connection and try again.');
    return null;
  }
  setAuthBusy(false);
  if (res.ok && body && body.user) {
    $('login-password').value = '';
    return body.user;
  }
  const serverMsg = body && body.error && body.error.message;
  switch (res.status) {
    case 401: setAuthError('Wrong username or password.', 'login-password'); break;
    case 409: setAuthError(`The username “${username}” is taken. Pick another, or sign in.`, 'login-username'); break;
    case 429: setAuthError('Too many attempts. Wait a minute, then try again.'); break;
    case 400: setAuthError(serverMsg ? capitalize(serverMsg) : 'Check your username and password.'); break;
    default: setAuthError(serverMsg ? capitalize(serverMsg) : `The server answered ${res.status}. Try again.`);
  }
  return null;
}

function capitalize(s) {
  s = String(s);
  const out = s.charAt(0).toUpperCase() + s.slice(1);
  return /[.!?]$/.test(out) ? out : `${out}.`;
}

/** signOut ends the session on the server; offline, the page forgets it anyway. */
export async function signOut() {
  try {
    await fetch('/api/logout', { method: 'POST', credentials: 'same-origin' });
  } catch {
    // Offline: the cookie stays, but this page forgets the session anyway.
  }
}
