import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parse, parseInline, safeHref, emojiOnly, mentions } from '../static/js/markdown.js';

const t = text => ({ type: 'text', text });

test('plain text stays one text node', () => {
  assert.deepEqual(parse('hello world'), [{ type: 'p', children: [t('hello world')] }]);
});

test('bold, italic and code', () => {
  assert.deepEqual(parseInline('a **b** c'), [t('a '), { type: 'strong', children: [t('b')] }, t(' c')]);
  assert.deepEqual(parseInline('*i* and _j_'), [
    { type: 'em', children: [t('i')] }, t(' and '), { type: 'em', children: [t('j')] }]);
  assert.deepEqual(parseInline('**bold *and italic***'), [
    { type: 'strong', children: [t('bold '), { type: 'em', children: [t('and italic')] }] }]);
  assert.deepEqual(parseInline('run `x **not bold**` now'), [
    t('run '), { type: 'code', text: 'x **not bold**' }, t(' now')]);
  assert.deepEqual(parseInline('``a ` b``'), [{ type: 'code', text: 'a ` b' }]);
});

test('what is not emphasis stays literal', () => {
  assert.deepEqual(parseInline('snake_case_name'), [t('snake_case_name')]);
  assert.deepEqual(parseInline('2 * 3 * 4'), [t('2 * 3 * 4')]);
  assert.deepEqual(parseInline('**'), [t('**')]);
  assert.deepEqual(parseInline('a ** b'), [t('a ** b')]);
  assert.deepEqual(parseInline('unclosed `code'), [t('unclosed `code')]);
  assert.deepEqual(parseInline('\\*not italic\\*'), [t('*not italic*')]);
});

test('links: bare URLs, labelled links, only safe schemes', () => {
  const link = (href, text) => ({ type: 'link', href, children: [t(text)] });
  assert.deepEqual(parseInline('see https://example.com/a?b=1.'), [
    t('see '), link('https://example.com/a?b=1', 'https://example.com/a?b=1'), t('.')]);
  assert.deepEqual(parseInline('(http://x.org/wiki/A_(b))'), [
    t('('), link('http://x.org/wiki/A_(b)', 'http://x.org/wiki/A_(b)'), t(')')]);
  assert.deepEqual(parseInline('mail mailto:bob@example.com'), [
    t('mail '), link('mailto:bob@example.com', 'bob@example.com')]);
  assert.deepEqual(parseInline('[the docs](https://chatd.example/docs)'), [link('https://chatd.example/docs', 'the docs')]);
  assert.deepEqual(parseInline('[x](javascript:alert(1))'), [t('[x](javascript:alert(1))')]);
  assert.deepEqual(parseInline('javascript:alert(1)'), [t('javascript:alert(1)')]);
  assert.deepEqual(parseInline('[x](data:text/html,hi)'), [t('[x](data:text/html,hi)')]);
  assert.equal(safeHref('JavaScript:alert(1)'), '');
  assert.equal(safeHref('https://'), '');
  assert.equal(safeHref('HTTPS://example.com'), 'HTTPS://example.com');
  assert.deepEqual(parseInline('xhttps://a.b'), [t('xhttps://a.b')]);
});

test('HTML is text, never markup', () => {
  const tree = parse('<img src=x onerror=alert(1)> **<b>hi</b>**');
  assert.deepEqual(tree, [{ type: 'p', children: [
    t('<img src=x onerror=alert(1)> '), { type: 'strong', children: [t('<b>hi</b>')] }] }]);
});

test('mentions', () => {
  assert.deepEqual(parseInline('hi @bob.'), [t('hi '), { type: 'mention', name: 'bob' }, t('.')]);
  assert.deepEqual(parseInline('@room look'), [{ type: 'mention', name: 'room' }, t(' look')]);
  assert.deepEqual(parseInline('mail a@bob.com'), [t('mail a@bob.com')]);
  assert.deepEqual(parseInline('@ab too short'), [t('@ab too short')]);
  assert.deepEqual(mentions('@Bob and @carol, @bob again; `@dave` in code'), ['bob', 'carol']);
});

test('blocks: paragraphs, line breaks, quotes, lists, fenced code', () => {
  assert.deepEqual(parse('one\ntwo\n\nthree'), [
    { type: 'p', children: [t('one'), { type: 'br' }, t('two')] },
    { type: 'p', children: [t('three')] }]);
  assert.deepEqual(parse('> quoted\n> **more**\nafter'), [
    { type: 'quote', children: [{ type: 'p', children: [t('quoted'), { type: 'br' }, { type: 'strong', children: [t('more')] }] }] },
    { type: 'p', children: [t('after')] }]);
  assert.deepEqual(parse('- a\n- b'), [{ type: 'ul', children: [
    { type: 'li', children: [t('a')] }, { type: 'li', children: [t('b')] }] }]);
  assert.deepEqual(parse('3. c\n4. d'), [{ type: 'ol', start: 3, children: [
    { type: 'li', children: [t('c')] }, { type: 'li', children: [t('d')] }] }]);
  assert.deepEqual(parse('```go\nfunc main() {\n\t**x**\n}\n```\nafter'), [
    { type: 'code', lang: 'go', text: 'func main() {\n\t**x**\n}' },
    { type: 'p', children: [t('after')] }]);
  assert.deepEqual(parse('```\nunclosed'), [{ type: 'code', lang: '', text: 'unclosed' }]);
});

test('deep quotes stop nesting', () => {
  const tree = parse('>>>>>>>> deep');
  let depth = 0;
  for (let n = tree[0]; n && n.type === 'quote'; n = n.children[0]) depth++;
  assert.equal(depth, 4);
});

test('emoji-only messages', () => {
  assert.ok(emojiOnly('🎉'));
  assert.ok(emojiOnly(' 👍🏽 🎉 '));
  assert.ok(emojiOnly('👨‍👩‍👧'));
  assert.ok(emojiOnly('🇫🇷'));
  assert.ok(!emojiOnly('ok 👍'));
  assert.ok(!emojiOnly('123'));
  assert.ok(!emojiOnly(''));
  assert.ok(!emojiOnly('🎉'.repeat(9)));
});

test('pathological input of 4000 characters parses fast', () => {
  const inputs = [
    '*'.repeat(4000), '**a'.repeat(1333), '_a'.repeat(2000), '`'.repeat(4000), '[a]('.repeat(800),
    '['.repeat(4000), '> '.repeat(2000), '*a **b _c `d '.repeat(300), 'https://'.repeat(500),
    '@'.repeat(4000), ('- x\n').repeat(1000), 'a\\'.repeat(2000), '``a'.repeat(1333),
  ];
  for (const input of inputs) {
    const start = performance.now();
    parse(input);
    const took = performance.now() - start;
    assert.ok(took < 200, `${JSON.stringify(input.slice(0, 12))}… took ${took.toFixed(1)} ms`);
  }
});
