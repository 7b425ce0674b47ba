import { test } from 'node:test';
import assert from 'node:assert/strict';
import { snippetParts, searchRequest, MAX_QUERY_CHARS } from '../static/js/snippet.js';

const S = '\uE000';
const E = '\uE001';

test('snippetParts splits a snippet into plain and marked runs', () => {
  assert.deepEqual(snippetParts(`the ${S}deploy${E} went ${S}fine${E}`), [
    { text: 'the ', mark: false }, { text: 'deploy', mark: true }, { text: ' went ', mark: false }, { text: 'fine', mark: true },
  ]);
  assert.deepEqual(snippetParts(`…${S}x${E}…`), [{ text: '…', mark: false }, { text: 'x', mark: true }, { text: '…', mark: false }]);
  assert.deepEqual(snippetParts(''), []);
  assert.deepEqual(snippetParts(undefined), []);
});

test('snippetParts keeps markup as text and survives stray markers', () => {
  assert.deepEqual(snippetParts(`<b>${S}x${E}</b>`), [
    { text: '<b>', mark: false }, { text: 'x', mark: true }, { text: '</b>', mark: false },
  ]);
  assert.deepEqual(snippetParts(`a${E}b`), [{ text: 'ab', mark: false }], 'an end without a start');
  assert.deepEqual(snippetParts(`a${S}b${S}c`), [{ text: 'a', mark: false }, { text: 'bc', mark: true }], 'a start twice');
  assert.deepEqual(snippetParts(`${S}${E}`), [], 'an empty highlight');
  for (const p of snippetParts(`${S}${S}x${E}${E}y`)) assert.ok(!p.text.includes(S) && !p.text.includes(E));
});

test('searchRequest builds the payload the server takes', () => {
  assert.deepEqual(searchRequest({ query: '  deploy  ' }), { payload: { query: 'deploy', limit: 20 } });
  assert.deepEqual(searchRequest({ query: 'x', room: 'general', from: '@bob', cursor: 'c1' }),
    { payload: { query: 'x', limit: 20, room: 'general', from: 'bob', cursor: 'c1' } });
  assert.ok(searchRequest({ query: '   ' }).error);
  assert.ok(searchRequest({ query: 'é'.repeat(MAX_QUERY_CHARS) }).payload);
  assert.ok(searchRequest({ query: 'é'.repeat(MAX_QUERY_CHARS + 1) }).error);
});
