// Hostile paths against a static root: encoded dots and slashes, backslashes, NUL, double and
// overlong encodings, absolute forms, dotfiles and symlinks out of the root. Each is sent as raw
// bytes (no client normalises it first) and must get 400, 403 or 404 with a short page: never a
// byte of what lies outside the root, never a stack trace, and edge serving on afterwards.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { join } from 'node:path';
import { freePort, startEdge, type EdgeProcess, logMessages, logRecords } from '../helpers/edge.ts';
import { writeConfig } from '../helpers/config.ts';
import { writeTree } from '../helpers/files.ts';

const SECRET = 'TOP-SECRET-CONTENT';

const CORPUS: string[] = [
  '/../secret.txt',
  '/../../../../../../etc/passwd',
  '/static/../../secret.txt',
  '/%2e%2e/secret.txt',
  '/%2E%2E/%2E%2E/%2E%2E/etc/passwd',
  '/..%2fsecret.txt',
  '/..%2Fsecret.txt',
  '/%2e%2e%2fsecret.txt',
  '/%2e%2e%2f%2e%2e%2f%2e%2e%2fetc%2fpasswd',
  '/static%2f..%2f..%2fsecret.txt',
  '/%2f%2f..%2fsecret.txt',
  '/..\\secret.txt',
  '/..%5csecret.txt',
  '/%5c..%5csecret.txt',
  '/static/..%5c..%5csecret.txt',
  '/C:%5cWindows%5cwin.ini',
  '/C:/Windows/win.ini',
  '/secret.txt%00.html',
  '/index.html%00',
  '/%00/../secret.txt',
  '/%252e%252e/secret.txt',
  '/%252e%252e%252fsecret.txt',
  '/..%252fsecret.txt',
  '/static/%252e%252e/%252e%252e/secret.txt',
  '/%c0%ae%c0%ae/secret.txt',
  '/%c0%af../secret.txt',
  '/%e0%80%ae%e0%80%ae/secret.txt',
  '/%u002e%u002e/secret.txt',
  '/%',
  '/%zz',
  '//etc/passwd',
  '///../secret.txt',
  '/./../secret.txt',
  '/....//secret.txt',
  '/.../secret.txt',
  '/..;/secret.txt',
  '/link-out.txt',
  '/dir-out/secret.txt',
  '/static/dir-out/secret.txt',
  '/.env',
  '/.git/config',
  '/%2egit/config',
  '/.git%2fconfig',
  '/static/.env',
  'http://test.example/../secret.txt',
  'http://test.example/%2e%2e/secret.txt',
  '*',
  'secret.txt',
];

interface RawAnswer {
  status: number;
  text: string;
}

/** One request with the target exactly as given, on its own connection. */
function raw(port: number, target: string): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.on('data', (c) => chunks.push(c));
    socket.on('error', reject);
    socket.on('close', () => {
      const text = Buffer.concat(chunks).toString('latin1');
      const m = /^HTTP\/1\.1 (\d{3}) /.exec(text);
      if (!m) reject(new Error(`no status line for ${target}: ${JSON.stringify(text.slice(0, 200))}`));
      else resolve({ status: Number(m[1]), text });
    });
    // not end(): a client that half-closes has its request aborted by Node before an async answer
    socket.write(Buffer.from(`GET ${target} HTTP/1.1\r\nHost: test.example\r\nConnection: close\r\n\r\n`, 'latin1'));
  });
}

let edge: EdgeProcess;

before(async () => {
  const base = writeTree({
    'secret.txt': `${SECRET}\n`,
    'www/index.html': '<h1>home</h1>\n',
    'www/ok.txt': 'ok\n',
    'www/.env': `${SECRET}\n`,
    'www/.git/config': `${SECRET}\n`,
    'www/link-out.txt': { link: '../secret.txt' },
    'www/dir-out': { link: '..' },
  });
  const www = join(base, 'www');
  const port = await freePort();
  const { file } = writeConfig(`
http_port: ${port}
bind: 127.0.0.1
admin: off
log: { access: off }
sites:
  - hosts: [test.example]
    tls: off
    routes:
      - match: /static/
        static: { root: ${www} }
      - static: { root: ${www} }
`);
  edge = await startEdge(['run', '-c', file], { port });
});

after(async () => {
  await edge.stop();
});

describe(`path traversal: ${CORPUS.length} hostile paths, all refused`, () => {
  for (const target of CORPUS) {
    it(JSON.stringify(target), async () => {
      const r = await raw(edge.port, target);
      assert.ok([400, 403, 404].includes(r.status), `status ${r.status}`);
      assert.doesNotMatch(r.text, new RegExp(SECRET));
      assert.doesNotMatch(r.text, /root:x?:0:0|\[core\]/, 'nothing of /etc/passwd or .git');
      assert.doesNotMatch(r.text, /\n\s+at |Error:|node:internal|\/src\//, 'no stack trace or source path');
    });
  }

  it('edge still serves, and logged no error or crash', async () => {
    const r = await raw(edge.port, '/ok.txt');
    assert.equal(r.status, 200);
    assert.match(r.text, /\r\n\r\nok\n$/);
    assert.equal(edge.proc.exitCode, null);
    assert.deepEqual(logRecords(edge.stderr()).filter((r) => r.level === 'error'), []);
    assert.doesNotMatch(logMessages(edge.stderr()), /500 |Uncaught|TypeError/);
  });
});
