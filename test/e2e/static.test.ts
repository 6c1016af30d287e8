// Static files end to end, against a real edge: headers, HEAD, index files and the slash
// redirect, try_files (single-page app, files then the app, a status), hidden names, symlinks,
// methods, every conditional request and range case with exact statuses and headers, and a file
// changed on disk being seen.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, statSync, writeFileSync, utimesSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { freePort, startEdge, waitFor, type EdgeProcess, logMessages } from '../helpers/edge.ts';
import { echo, startUpstream, type Upstream } from '../helpers/upstream.ts';
import { writeConfig } from '../helpers/config.ts';
import { writeTree } from '../helpers/files.ts';
import { fetchRaw, type Answer } from '../helpers/http.ts';

const DATA = '0123456789'.repeat(10);
// past the 1 MiB kept in memory: served by streaming from the open file
const LARGE = Buffer.from(Array.from({ length: 1536 * 1024 }, (_, i) => (i * 7) % 251));

let base: string;
let www: string;
let up: Upstream;
let edge: EdgeProcess;

function get(path: string, headers: Record<string, string> = {}, method = 'GET'): Promise<Answer> {
  return fetchRaw(edge.port, path, { headers, method });
}

function lastModified(file: string): string {
  return new Date(Math.trunc(statSync(join(www, file)).mtimeMs)).toUTCString();
}

before(async () => {
  base = writeTree({
    'secret.txt': 'TOP SECRET\n',
    'outside/file.txt': 'outside\n',
    'www/index.html': '<h1>home</h1>\n',
    'www/hello.txt': 'hello world\n',
    'www/data.txt': DATA,
    'www/large.bin': LARGE,
    'www/style.css': 'body { color: red }\n',
    'www/data.json': '{"a":1}\n',
    'www/blob': 'no extension\n',
    'www/empty.txt': '',
    'www/docs/index.html': '<h1>docs</h1>\n',
    'www/empty/': { dir: true },
    'www/.env': 'PASSWORD=1\n',
    'www/.git/config': '[core]\n',
    'www/sub/.hidden/x.txt': 'hidden\n',
    'www/sub/ok.txt': 'ok\n',
    'www/link-in.txt': { link: 'hello.txt' },
    'www/link-out.txt': { link: '../secret.txt' },
    'www/dir-out': { link: '../outside' },
    'www/link-hidden.txt': { link: '.env' },
    'www/spa/index.html': '<div id=app></div>\n',
    'www/spa/asset.js': 'console.log(1)\n',
    'www/icons/favicon.ico': 'ICO',
  });
  www = join(base, 'www');
  up = await startUpstream(echo);
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
        static: { root: ${www}, headers: { Cache-Control: "max-age=60" } }
      - match: /spa/
        static: { root: ${www}/spa, try_files: [$uri, /index.html] }
      - match: /app/
        static: { root: ${www}, try_files: [$uri, $uri/, "@proxy"] }
        proxy: { to: ${up.address} }
      - match: /gone/
        static: { root: ${www}, try_files: [$uri, $uri.txt, "=410"] }
      - match: /follow/
        static: { root: ${www}, follow_symlinks: true }
      - match: /shown/
        static: { root: ${www}, hide: ["*.bin"] }
      - match: =/favicon.ico
        static: { root: ${www}/icons }
      - match: /missing-root/
        static: { root: ${base}/nonexistent }
      - static: { root: ${www} }
`);
  edge = await startEdge(['run', '-c', file], { port });
});

after(async () => {
  await edge.stop();
  await up.close();
});

describe('static files: what a 200 carries', () => {
  it('GET: body, Content-Type, Content-Length, Last-Modified, a strong ETag, Accept-Ranges and the route\'s headers', async () => {
    const r = await get('/static/hello.txt');
    assert.equal(r.status, 200);
    assert.equal(r.text, 'hello world\n');
    assert.equal(r.headers['content-type'], 'text/plain; charset=utf-8');
    assert.equal(r.headers['content-length'], '12');
    assert.equal(r.headers['last-modified'], lastModified('hello.txt'));
    assert.match(r.headers.etag!, /^"[^"]+"$/);
    assert.equal(r.headers['accept-ranges'], 'bytes');
    assert.equal(r.headers['cache-control'], 'max-age=60');
    assert.equal(r.headers.vary, undefined, 'no sidecars: nothing varies');
    assert.equal(r.headers['content-encoding'], undefined);
  });

  it('HEAD: the same headers, no body', async () => {
    const g = await get('/static/hello.txt');
    const h = await get('/static/hello.txt', {}, 'HEAD');
    assert.equal(h.status, 200);
    assert.equal(h.body.length, 0);
    for (const name of ['content-type', 'content-length', 'last-modified', 'etag', 'accept-ranges', 'cache-control']) {
      assert.equal(h.headers[name], g.headers[name], name);
    }
  });

  it('the ETag stays the same while the file does, and differs between files', async () => {
    const a = await get('/hello.txt');
    const b = await get('/hello.txt');
    const c = await get('/data.txt');
    assert.equal(a.headers.etag, b.headers.etag);
    assert.notEqual(a.headers.etag, c.headers.etag);
  });

  it('Content-Type by extension, octet-stream without one', async () => {
    assert.equal((await get('/style.css')).headers['content-type'], 'text/css; charset=utf-8');
    assert.equal((await get('/data.json')).headers['content-type'], 'application/json; charset=utf-8');
    assert.equal((await get('/index.html')).headers['content-type'], 'text/html; charset=utf-8');
    assert.equal((await get('/large.bin')).headers['content-type'], 'application/octet-stream');
    assert.equal((await get('/blob')).headers['content-type'], 'application/octet-stream');
  });

  it('a large file streams whole and byte-exact', async () => {
    const r = await get('/large.bin');
    assert.equal(r.status, 200);
    assert.equal(r.headers['content-length'], String(LARGE.length));
    assert.ok(r.body.equals(LARGE));
  });

  it('an empty file: 200 with Content-Length 0', async () => {
    const r = await get('/empty.txt');
    assert.equal(r.status, 200);
    assert.equal(r.headers['content-length'], '0');
    assert.equal(r.body.length, 0);
  });

  it('a /prefix/ route takes its prefix off; =exact uses the whole path', async () => {
    assert.equal((await get('/static/sub/ok.txt')).text, 'ok\n');
    assert.equal((await get('/sub/ok.txt')).text, 'ok\n');
    assert.equal((await get('/favicon.ico')).text, 'ICO');
  });

  it('a query string is not part of the file name', async () => {
    assert.equal((await get('/hello.txt?v=123')).text, 'hello world\n');
  });
});

describe('static files: folders and try_files', () => {
  it('a folder with a slash serves its index file', async () => {
    const r = await get('/docs/');
    assert.equal(r.status, 200);
    assert.equal(r.text, '<h1>docs</h1>\n');
    assert.equal(r.headers['content-type'], 'text/html; charset=utf-8');
    assert.equal((await get('/')).text, '<h1>home</h1>\n');
  });

  it('a folder without its slash gets a 308 to add it, query kept', async () => {
    const r = await get('/static/docs?x=1');
    assert.equal(r.status, 308);
    assert.equal(r.headers.location, '/static/docs/?x=1');
    assert.equal(r.headers['content-length'], '0');
  });

  it('the redirect is built from the normalised path: "//host" cannot become a protocol-relative Location', async () => {
    const r = await get('//docs');
    assert.equal(r.status, 308);
    assert.equal(r.headers.location, '/docs/');
  });

  it('a folder without an index file is 404 (no listings)', async () => {
    assert.equal((await get('/empty/')).status, 404);
  });

  it('single-page app: unknown paths get /index.html, real files themselves', async () => {
    const r = await get('/spa/some/client/route');
    assert.equal(r.status, 200);
    assert.equal(r.text, '<div id=app></div>\n');
    assert.equal((await get('/spa/asset.js')).text, 'console.log(1)\n');
  });

  it('files first, then the app: a file from disk, anything else from the upstream', async () => {
    const before = up.requests.length;
    const file = await get('/app/hello.txt');
    assert.equal(file.text, 'hello world\n');
    assert.equal(up.requests.length, before, 'the upstream was not asked for a file on disk');
    const app = await get('/app/api/users?id=3');
    assert.equal(app.status, 200);
    assert.deepEqual({ method: JSON.parse(app.text).method, url: JSON.parse(app.text).url }, { method: 'GET', url: '/app/api/users?id=3' });
  });

  it('files first, then the app: methods other than GET and HEAD go to the app, even for a file', async () => {
    const r = await get('/app/hello.txt', {}, 'POST');
    assert.equal(r.status, 200);
    assert.equal(JSON.parse(r.text).method, 'POST');
  });

  it('files first, then the app: a hidden file is left to the app, not served', async () => {
    const r = await get('/app/.env');
    assert.equal(JSON.parse(r.text).url, '/app/.env');
  });

  it('$uri.html-like entries, then a status', async () => {
    assert.equal((await get('/gone/hello')).text, 'hello world\n');
    const r = await get('/gone/nothing');
    assert.equal(r.status, 410);
    assert.equal(r.text, '410 Gone\n');
  });

  it('a missing file is a short 404', async () => {
    const r = await get('/nope.txt');
    assert.equal(r.status, 404);
    assert.equal(r.text, '404 Not Found\n');
  });

  it('a root that does not exist: 404, and edge keeps serving', async () => {
    assert.equal((await get('/missing-root/x')).status, 404);
    assert.equal((await get('/hello.txt')).status, 200);
    await waitFor(() => /static root .*nonexistent is not a readable folder/.test(logMessages(edge.stderr())), 'the warning about the root');
  });

  it('methods other than GET and HEAD: 405 with Allow', async () => {
    for (const method of ['POST', 'PUT', 'DELETE', 'OPTIONS']) {
      const r = await get('/hello.txt', {}, method);
      assert.equal(r.status, 405, method);
      assert.equal(r.headers.allow, 'GET, HEAD');
    }
  });
});

describe('static files: hidden names and symlinks', () => {
  it('dotfiles and dot-folders are 404 by default', async () => {
    for (const path of ['/.env', '/.git/config', '/.git/', '/sub/.hidden/x.txt', '/static/.env', '/%2eenv', '/sub/%2Ehidden/x.txt']) {
      assert.equal((await get(path)).status, 404, path);
    }
  });

  it('hide: other patterns replace the default', async () => {
    assert.equal((await get('/shown/large.bin')).status, 404);
    assert.equal((await get('/shown/.env')).text, 'PASSWORD=1\n');
  });

  it('a symlink inside the root is followed', async () => {
    assert.equal((await get('/link-in.txt')).text, 'hello world\n');
  });

  it('a symlink inside the root to a hidden name stays hidden', async () => {
    assert.equal((await get('/link-hidden.txt')).status, 404);
  });

  it('symlinks leading out of the root are refused with 403, file or folder', async () => {
    const file = await get('/link-out.txt');
    assert.equal(file.status, 403);
    assert.doesNotMatch(file.text, /SECRET/);
    assert.equal((await get('/dir-out/file.txt')).status, 403);
  });

  it('follow_symlinks: true serves them', async () => {
    assert.equal((await get('/follow/link-out.txt')).text, 'TOP SECRET\n');
    assert.equal((await get('/follow/dir-out/file.txt')).text, 'outside\n');
  });
});

describe('conditional requests (RFC 9110 13.2.2 order)', () => {
  let etag: string;
  let modified: string;
  const earlier = 'Sat, 01 Jan 2000 00:00:00 GMT';
  before(async () => {
    const r = await get('/static/data.txt');
    etag = r.headers.etag!;
    modified = r.headers['last-modified']!;
  });

  async function expect304(headers: Record<string, string>, method = 'GET'): Promise<void> {
    const r = await get('/static/data.txt', headers, method);
    assert.equal(r.status, 304);
    assert.equal(r.body.length, 0);
    assert.equal(r.headers.etag, etag);
    assert.equal(r.headers['last-modified'], modified);
    assert.equal(r.headers['cache-control'], 'max-age=60', 'caching headers a 200 would carry');
    assert.equal(r.headers['content-type'], undefined);
    assert.equal(r.headers['content-length'], undefined);
  }
  async function expect412(headers: Record<string, string>): Promise<void> {
    const r = await get('/static/data.txt', headers);
    assert.equal(r.status, 412);
    assert.equal(r.text, '412 Precondition Failed\n');
    assert.equal(r.headers.etag, undefined);
  }
  async function expect200(headers: Record<string, string>): Promise<void> {
    const r = await get('/static/data.txt', headers);
    assert.equal(r.status, 200);
    assert.equal(r.text, DATA);
  }

  it('If-None-Match with the ETag: 304 with validators and caching headers, no body', () => expect304({ 'if-none-match': etag }));
  it('If-None-Match with the ETag on HEAD: 304', () => expect304({ 'if-none-match': etag }, 'HEAD'));
  it('If-None-Match with the weak form of the ETag: 304 (weak comparison)', () => expect304({ 'if-none-match': `W/${etag}` }));
  it('If-None-Match listing it among others: 304', () => expect304({ 'if-none-match': `"nope", ${etag}` }));
  it('If-None-Match: *: 304', () => expect304({ 'if-none-match': '*' }));
  it('If-None-Match with another ETag: 200', () => expect200({ 'if-none-match': '"nope"' }));
  it('If-Modified-Since the Last-Modified time: 304', () => expect304({ 'if-modified-since': modified }));
  it('If-Modified-Since later: 304', () => expect304({ 'if-modified-since': new Date(Date.parse(modified) + 3_600_000).toUTCString() }));
  it('If-Modified-Since earlier: 200', () => expect200({ 'if-modified-since': earlier }));
  it('If-Modified-Since that is not a date: ignored, 200', () => expect200({ 'if-modified-since': 'yesterday' }));
  it('If-None-Match not matching outranks If-Modified-Since that would give 304: 200', () => expect200({ 'if-none-match': '"nope"', 'if-modified-since': modified }));
  it('If-None-Match matching outranks If-Modified-Since that would give 200: 304', () => expect304({ 'if-none-match': etag, 'if-modified-since': earlier }));
  it('If-Match with the ETag: 200', () => expect200({ 'if-match': etag }));
  it('If-Match: *: 200', () => expect200({ 'if-match': '*' }));
  it('If-Match with another ETag: 412', () => expect412({ 'if-match': '"nope"' }));
  it('If-Match with the weak form (strong comparison): 412', () => expect412({ 'if-match': `W/${etag}` }));
  it('If-Unmodified-Since the Last-Modified time: 200', () => expect200({ 'if-unmodified-since': modified }));
  it('If-Unmodified-Since earlier: 412', () => expect412({ 'if-unmodified-since': earlier }));
  it('If-Match holding makes If-Unmodified-Since (failing) irrelevant: 200', () => expect200({ 'if-match': etag, 'if-unmodified-since': earlier }));
  it('If-Match failing comes before If-None-Match matching: 412', () => expect412({ 'if-match': '"nope"', 'if-none-match': etag }));
  it('If-Unmodified-Since failing comes before If-Modified-Since: 412', () => expect412({ 'if-unmodified-since': earlier, 'if-modified-since': modified }));
  it('a precondition comes before a range: If-None-Match matching with Range is 304', () => expect304({ 'if-none-match': etag, range: 'bytes=0-9' }));
  it('a failing If-Match with Range is 412', () => expect412({ 'if-match': '"nope"', range: 'bytes=0-9' }));
});

describe('ranges', () => {
  let etag: string;
  let modified: string;
  before(async () => {
    const r = await get('/data.txt');
    etag = r.headers.etag!;
    modified = r.headers['last-modified']!;
  });

  async function expect206(path: string, headers: Record<string, string>, first: number, last: number, whole: Buffer): Promise<void> {
    const r = await get(path, headers);
    assert.equal(r.status, 206);
    assert.equal(r.headers['content-range'], `bytes ${first}-${last}/${whole.length}`);
    assert.equal(r.headers['content-length'], String(last - first + 1));
    assert.ok(r.body.equals(whole.subarray(first, last + 1)), 'the bytes of the range');
    assert.equal(r.headers.etag, (await get(path)).headers.etag);
  }
  const data = Buffer.from(DATA);

  it('bytes=0-9: 206 with Content-Range and the ten bytes', () => expect206('/data.txt', { range: 'bytes=0-9' }, 0, 9, data));
  it('bytes=90-: to the end', () => expect206('/data.txt', { range: 'bytes=90-' }, 90, 99, data));
  it('bytes=-5: the last five', () => expect206('/data.txt', { range: 'bytes=-5' }, 95, 99, data));
  it('bytes=95-500: cut at the end', () => expect206('/data.txt', { range: 'bytes=95-500' }, 95, 99, data));
  it('bytes=-500: more than there is, all of it as a 206', () => expect206('/data.txt', { range: 'bytes=-500' }, 0, 99, data));
  it('a streamed file: a range in the middle, across read chunks', () => expect206('/large.bin', { range: 'bytes=100000-1200000' }, 100000, 1200000, LARGE));
  it('a streamed file: the last byte', () => expect206('/large.bin', { range: `bytes=${LARGE.length - 1}-` }, LARGE.length - 1, LARGE.length - 1, LARGE));

  it('bytes=100-: past the end: 416 with Content-Range: bytes */100', async () => {
    const r = await get('/data.txt', { range: 'bytes=100-' });
    assert.equal(r.status, 416);
    assert.equal(r.headers['content-range'], 'bytes */100');
    assert.equal(r.text, '416 Range Not Satisfiable\n');
  });

  it('a range of an empty file: 416', async () => {
    const r = await get('/empty.txt', { range: 'bytes=0-' });
    assert.equal(r.status, 416);
    assert.equal(r.headers['content-range'], 'bytes */0');
  });

  for (const [range, why] of [['bytes=0-1,5-6', 'several ranges'], ['bytes=5-1', 'last before first'], ['lines=1-2', 'another unit'], ['bytes=x-y', 'junk']]) {
    it(`${range} (${why}): ignored, the whole file as 200`, async () => {
      const r = await get('/data.txt', { range: range! });
      assert.equal(r.status, 200);
      assert.equal(r.text, DATA);
      assert.equal(r.headers['content-range'], undefined);
    });
  }

  it('HEAD with Range: ranges are for GET, so 200 with the full length', async () => {
    const r = await get('/data.txt', { range: 'bytes=0-9' }, 'HEAD');
    assert.equal(r.status, 200);
    assert.equal(r.headers['content-length'], '100');
    assert.equal(r.headers['content-range'], undefined);
  });

  it('If-Range with the ETag: 206', () => expect206('/data.txt', { range: 'bytes=0-9', 'if-range': etag }, 0, 9, data));
  it('If-Range with the Last-Modified date: 206', () => expect206('/data.txt', { range: 'bytes=0-9', 'if-range': modified }, 0, 9, data));

  for (const [value, why] of [['"other"', 'another ETag'], ['W/"x"', 'a weak ETag'], ['Sat, 01 Jan 2000 00:00:00 GMT', 'another date']]) {
    it(`If-Range with ${why}: the whole file as 200`, async () => {
      const r = await get('/data.txt', { range: 'bytes=0-9', 'if-range': value! });
      assert.equal(r.status, 200);
      assert.equal(r.text, DATA);
    });
  }

  it('If-Range without Range: 200', async () => {
    assert.equal((await get('/data.txt', { 'if-range': etag })).status, 200);
  });
});

describe('the one-liner --static DIR --to UPSTREAM', () => {
  it('serves files first, then the app', async () => {
    const one = await startEdge(['--domain', 'test.example', '--static', www, '--to', up.address, '--http-port', '{port}', '--tls', 'off', '--bind', '127.0.0.1', '--admin', 'off', '--access-log', 'off']);
    try {
      assert.equal((await fetchRaw(one.port, '/hello.txt')).text, 'hello world\n');
      assert.equal(JSON.parse((await fetchRaw(one.port, '/api/x')).text).url, '/api/x');
      assert.match(logMessages(one.stderr()), /static .*www, then proxy → /);
    } finally {
      await one.stop();
    }
  });
});

describe('clients that go away', () => {
  it('leave no open file behind, however early they leave', async () => {
    const fds = () => readdirSync(`/proc/${edge.proc.pid}/fd`).length;
    await get('/large.bin');
    const baseline = fds();
    // some leave before the file is open, some mid-body
    await Promise.all(Array.from({ length: 40 }, (_, i) => new Promise<void>((resolve) => {
      const socket = connect(edge.port, '127.0.0.1', () => {
        socket.write('GET /large.bin HTTP/1.1\r\nHost: test.example\r\n\r\n');
        if (i % 2 === 0) socket.destroy();
        else socket.once('data', () => socket.destroy());
      });
      socket.on('close', () => resolve());
      socket.on('error', () => {});
    })));
    await waitFor(() => fds() <= baseline, () => `${fds()} open descriptors, ${baseline} before`);
    assert.doesNotMatch(logMessages(edge.stderr()), /Closing file descriptor/);
  });
});

describe('a file changed on disk', () => {
  it('is served with its new bytes and a new ETag within a few seconds (the stat cache is brief)', async () => {
    writeTree({ 'www/changing.txt': 'one\n' }, base);
    const first = await get('/changing.txt');
    assert.equal(first.text, 'one\n');
    writeFileSync(join(www, 'changing.txt'), 'two, longer\n');
    // a distinct modification time even on a coarse-grained file system
    const later = new Date(Date.now() + 5000);
    utimesSync(join(www, 'changing.txt'), later, later);
    let now: Answer = first;
    const deadline = Date.now() + 10_000;
    while (now.text !== 'two, longer\n' && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200));
      now = await get('/changing.txt');
    }
    assert.equal(now.text, 'two, longer\n');
    assert.equal(now.headers['content-length'], '12');
    assert.notEqual(now.headers.etag, first.headers.etag);
    const stale = await get('/changing.txt', { 'if-none-match': first.headers.etag! });
    assert.equal(stale.status, 200, 'the old ETag no longer matches');
  });
});
