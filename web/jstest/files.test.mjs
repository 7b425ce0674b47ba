import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatSize, tooLargeText, uploadErrorText, thumbBox } from '../static/js/files.js';

test('formatSize writes bytes for people', () => {
  assert.equal(formatSize(0), '0 B');
  assert.equal(formatSize(812), '812 B');
  assert.equal(formatSize(1024), '1 KB');
  assert.equal(formatSize(4300), '4.2 KB');
  assert.equal(formatSize(25 * 1024 * 1024), '25 MB');
  assert.equal(formatSize(-1), '');
});

test('uploadErrorText says why, the limit for a 413', () => {
  assert.equal(uploadErrorText(413, null, 30 << 20, 25 << 20), tooLargeText(30 << 20, 25 << 20));
  assert.match(tooLargeText(30 << 20, 25 << 20), /30 MB.*25 MB/);
  assert.match(uploadErrorText(0, null, 1, 1), /no connection/);
  assert.equal(uploadErrorText(400, { error: { code: 'bad_request', message: 'file is empty' } }, 0, 1),
    'The upload failed: file is empty');
  assert.equal(uploadErrorText(500, null, 1, 1), 'The upload failed (HTTP 500).');
});

test('thumbBox fits the server thumbnail, never larger than the image', () => {
  assert.deepEqual(thumbBox(800, 400), { width: 320, height: 160 });
  assert.deepEqual(thumbBox(400, 800), { width: 160, height: 320 });
  assert.deepEqual(thumbBox(64, 48), { width: 64, height: 48 });
  assert.deepEqual(thumbBox(0, 10), { width: 0, height: 0 });
});
