// Uploads (issue 9): files picked with the attach button, dropped on the
// message area or pasted into the composer are each uploaded at once, over
// HTTP (XMLHttpRequest, for its progress events), to
// POST /api/rooms/{room}/files; the tray above the composer shows them.
// The next message sent in that room carries those that finished
// (composer.js asks readyFiles, send.js puts their ids in attachments).
//
// An upload needs the network: offline it fails at once and offers a
// retry. The message that carries files goes through the outbox like any
// other (it keeps their ids, not their content), so the text outbox works
// as before, offline included.

import { state } from './state.js';
import { $ } from './dom.js';
import { tooLargeText, uploadErrorText } from './files.js';
import { renderTray } from './view-attachments.js';
import { setComposerError } from './notices.js';

/** @type {{key:number, room:string, file:Blob, name:string, size:number, loaded:number,
 *          status:'uploading'|'done'|'failed', error:string, retryable:boolean, xhr:?XMLHttpRequest,
 *          attachment:?object}[]} */
let uploads = [];
let nextKey = 1;

/** addFiles uploads files (a FileList or an array of File) to the room shown. */
export function addFiles(files) {
  const room = state.current;
  if (!room) {
    setComposerError('Join a room first.');
    return;
  }
  for (const file of files) {
    const u = {
      key: nextKey++, room, file, name: file.name || 'pasted-image', size: file.size, loaded: 0,
      status: 'uploading', error: '', retryable: false, xhr: null, attachment: null,
    };
    uploads.push(u);
    if (file.size > state.maxUploadBytes) fail(u, tooLargeText(file.size, state.maxUploadBytes), false);
    else if (file.size === 0) fail(u, 'That file is empty.', false);
    else start(u);
  }
  renderUploads();
}

function fail(u, error, retryable) {
  u.status = 'failed';
  u.error = error;
  u.retryable = retryable;
  u.xhr = null;
}

function start(u) {
  const xhr = new XMLHttpRequest();
  Object.assign(u, { xhr, status: 'uploading', error: '', loaded: 0 });
  xhr.open('POST', `/api/rooms/${encodeURIComponent(u.room)}/files?name=${encodeURIComponent(u.name)}`);
  xhr.responseType = 'json';
  xhr.upload.addEventListener('progress', (e) => {
    if (e.lengthComputable && u.xhr === xhr) {
      u.loaded = e.loaded;
      renderUploads();
    }
  });
  xhr.addEventListener('load', () => {
    if (u.xhr !== xhr) return; // removed meanwhile
    const body = xhr.response;
    if (xhr.status === 201 && body && body.file) {
      Object.assign(u, { status: 'done', attachment: body.file, loaded: u.size, xhr: null });
    } else {
      fail(u, uploadErrorText(xhr.status, body, u.size, state.maxUploadBytes), xhr.status >= 500 || xhr.status === 429);
    }
    renderUploads();
  });
  xhr.addEventListener('error', () => {
    if (u.xhr !== xhr) return;
    fail(u, uploadErrorText(0, null, u.size, state.maxUploadBytes), true);
    renderUploads();
  });
  xhr.send(u.file);
}

/** uploading reports whether a file for room is still on its way. */
export function uploading(room) {
  return uploads.some((u) => u.room === room && u.status === 'uploading');
}

/** readyFiles returns the attachments uploaded to room and not yet sent. */
export function readyFiles(room) {
  return uploads.filter((u) => u.room === room && u.status === 'done').map((u) => u.attachment);
}

/** takeFiles forgets room's finished uploads: a message now carries them. */
export function takeFiles(room) {
  uploads = uploads.filter((u) => !(u.room === room && u.status === 'done'));
  renderUploads();
}

/** renderUploads draws the tray for the room shown. */
export function renderUploads() {
  renderTray($('upload-tray'), uploads.filter((u) => u.room === state.current));
}

function remove(key) {
  const u = uploads.find((x) => x.key === key);
  if (!u) return;
  if (u.xhr) u.xhr.abort();
  u.xhr = null;
  uploads = uploads.filter((x) => x !== u);
  renderUploads();
}

function retry(key) {
  const u = uploads.find((x) => x.key === key);
  if (u && u.status === 'failed' && u.retryable) {
    start(u);
    renderUploads();
  }
}

const hasFiles = (e) => !!e.dataTransfer && [...e.dataTransfer.types].includes('Files');

/** wireUploads connects the attach button, drag and drop and paste. */
export function wireUploads() {
  const input = $('file-input');
  $('attach').addEventListener('click', () => input.click());
  input.addEventListener('change', () => {
    addFiles([...input.files]);
    input.value = '';
    $('composer').focus();
  });

  const area = $('main');
  let depth = 0; // dragenter/leave fire for every child crossed
  area.addEventListener('dragenter', (e) => {
    if (!hasFiles(e)) return;
    e.preventDefault();
    depth++;
    area.classList.add('dropping');
  });
  area.addEventListener('dragover', (e) => {
    if (!hasFiles(e)) return;
    e.preventDefault();
    e.dataTransfer.dropEffect = 'copy';
  });
  area.addEventListener('dragleave', () => {
    if (depth > 0 && --depth === 0) area.classList.remove('dropping');
  });
  area.addEventListener('drop', (e) => {
    if (!hasFiles(e)) return;
    e.preventDefault();
    depth = 0;
    area.classList.remove('dropping');
    addFiles([...e.dataTransfer.files]);
  });

  $('composer').addEventListener('paste', (e) => {
    const files = [...((e.clipboardData && e.clipboardData.items) || [])]
      .filter((it) => it.kind === 'file').map((it) => it.getAsFile()).filter(Boolean);
    if (files.length === 0) return; // text pastes as text
    e.preventDefault();
    addFiles(files);
  });

  $('upload-tray').addEventListener('click', (e) => {
    const b = e.target.closest('button[data-action]');
    const li = b && b.closest('[data-key]');
    if (!li) return;
    const key = Number(li.dataset.key);
    if (b.dataset.action === 'upload-remove') remove(key);
    else if (b.dataset.action === 'upload-retry') retry(key);
  });
}

/** resetUploads stops every upload, on sign-out. */
export function resetUploads() {
  for (const u of uploads) if (u.xhr) u.xhr.abort();
  uploads = [];
  const tray = $('upload-tray');
  if (tray) renderTray(tray, []);
}
