// nginx's grammar as the import reads it: quotes, escapes, comments, ${var}, blocks, Lua blocks,
// line numbers, and the errors nginx itself would refuse the file for.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseNginx, NginxSyntaxError } from '../../src/config/import/nginx-parse.ts';

const words = (text: string) => parseNginx(text, 'f').map((d) => [d.name, ...d.args]);

test('directives, blocks and line numbers', () => {
  const tree = parseNginx('user www-data;\nhttp {\n  server {\n    listen 80;\n  }\n}\n', 'nginx.conf');
  assert.deepEqual(tree[0], { name: 'user', args: ['www-data'], file: 'nginx.conf', line: 1 });
  assert.equal(tree[1]!.block![0]!.name, 'server');
  assert.deepEqual(tree[1]!.block![0]!.block![0], { name: 'listen', args: ['80'], file: 'nginx.conf', line: 4 });
});

test('quotes keep spaces, semicolons and braces; escapes are read as nginx reads them', () => {
  assert.deepEqual(words(`return 200 "a; b { c }";`), [['return', '200', 'a; b { c }']]);
  assert.deepEqual(words(`add_header X 'it\\'s';`), [['add_header', 'X', "it's"]]);
  assert.deepEqual(words(`return 200 "tab\\there\\n";`), [['return', '200', 'tab\there\n']]);
  assert.deepEqual(words(`return 200 "";`), [['return', '200', '']]);
  // a backslash outside quotes keeps a regex as written
  assert.deepEqual(words('location ~ \\.php$ { }').map((w) => w.slice(0, 3)), [['location', '~', '\\.php$']]);
});

test('comments start a word only: "#" inside a word is part of it', () => {
  assert.deepEqual(words('# whole line\nlisten 80; # managed by Certbot\nreturn 301 https://a/#frag;'), [['listen', '80'], ['return', '301', 'https://a/#frag']]);
});

test('${var} opens no block', () => {
  assert.deepEqual(words('return 301 https://${host}$request_uri;'), [['return', '301', 'https://${host}$request_uri']]);
});

test('a quoted word must be followed by a space, ";" or "{"', () => {
  assert.throws(() => parseNginx('return 200 "a"b;', 'f'), NginxSyntaxError);
});

test('unbalanced braces and a missing ";" are errors with the file and line', () => {
  assert.throws(() => parseNginx('http {\n server {\n', 'x.conf'), /x\.conf:3: unexpected end of file, expecting "}"/);
  assert.throws(() => parseNginx('}', 'x.conf'), /x\.conf:1: unexpected "}"/);
  assert.throws(() => parseNginx('listen 80', 'x.conf'), /expecting ";"/);
  assert.throws(() => parseNginx('return 200 "open;\n', 'x.conf'), /unclosed " quote/);
});

test('an OpenResty Lua block is kept whole, braces and all', () => {
  const tree = parseNginx('location / {\n content_by_lua_block {\n  if x then ngx.say("}") end\n  local t = { a = 1 }\n }\n listen 80;\n}', 'f');
  const lua = tree[0]!.block![0]!;
  assert.equal(lua.name, 'content_by_lua_block');
  assert.match(lua.args[0]!, /local t = \{ a = 1 \}/);
  assert.equal(tree[0]!.block![1]!.name, 'listen');
});
