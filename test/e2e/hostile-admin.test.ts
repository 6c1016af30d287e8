// A web page open in a browser on the edge machine can send a simple POST to 127.0.0.1:2019 with
// the right Host: the admin endpoint refuses to change state for a request a browser marks as
// coming from another origin (Origin, Sec-Fetch-Site), and keeps serving edge's own commands,
// which send neither, and read-only pages.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { request, type IncomingMessage, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, logMessages, logRecords, runEdge, startEdge, waitFor, type EdgeProcess } from '../helpers/edge.ts';
import { startUpstream, type Upstream } from '../helpers/upstream.ts';
import { writeConfig } from '../helpers/config.ts';
import { fetchRaw, type Answer } from '../helpers/http.ts';
import { servedSerial } from '../helpers/tls-client.ts';
import { rawConnect, readUntil } from '../helpers/raw.ts';

const EVIL = 'http://evil.example';
const NAME = 'intranet.example.com';

const cacheable = (_req: IncomingMessage, res: ServerResponse) => {
  res.writeHead(200, { 'content-type': 'text/plain', 'cache-control': 'max-age=600' });
  res.end('cacheable');
};

/** A request to a TCP admin endpoint as a browser sends it: Host of the endpoint, and `headers`. */
const toAdmin = (admin: number, method: string, path: string, headers: Record<string, string> = {}): Promise<Answer> =>
  fetchRaw(admin, path, { method, headers: { host: `127.0.0.1:${admin}`, ...headers } });

const count = (edge: EdgeProcess, text: string) => logMessages(edge.stderr()).split(text).length - 1;

/**
 * Waits for the error-level line saying why a request was refused. Lines are written in order, so
 * once it is there, anything the request would have logged before its answer is there too.
 */
const refused = (edge: EdgeProcess, line: RegExp) =>
  waitFor(() => logRecords(edge.stderr()).some((r) => r.level === 'error' && line.test(r.msg)), `an error line ${line}`);

/** A page stored, then still a hit: the purge that was refused removed nothing. */
async function cachedPage(port: number): Promise<string> {
  await fetchRaw(port, '/page');
  return String((await fetchRaw(port, '/page')).headers['cache-status']);
}

describe('hostile admin requests, one process', () => {
  let up: Upstream;
  let edge: EdgeProcess;
  let file: string;
  let port: number;
  let https: number;
  let admin: number;
  let root: string;
  before(async () => {
    up = await startUpstream(cacheable);
    port = await freePort();
    https = await freePort();
    admin = await freePort();
    const storage = join(mkdtempSync(join(tmpdir(), 'edge-admin-')), 'certs');
    ({ file } = writeConfig(`
http_port: ${port}
https_port: ${https}
bind: 127.0.0.1
admin: 127.0.0.1:${admin}
storage: ${storage}
log: { access: off }
sites:
  - hosts: [test.example]
    tls: off
    routes:
      - { match: /, proxy: { to: ${up.address} }, cache: { max_size: 1MB, zone: main } }
  - hosts: [${NAME}]
    tls: internal
    routes:
      - proxy: { to: ${up.address} }
`));
    edge = await startEdge(['run', '-c', file], { port });
    await waitFor(() => count(edge, `certificate ${NAME}: issued by`) === 1, `certificate ${NAME} issued`, 15_000);
    root = readFileSync(join(storage, 'local', 'root.crt'), 'utf8');
  });
  after(async () => {
    await edge.stop();
    await up.close();
  });

  it('a cross-site POST /reload is refused 403 and does not reload', async () => {
    const before = count(edge, 'config reloaded from');
    const r = await toAdmin(admin, 'POST', '/reload', { origin: EVIL });
    assert.equal(r.status, 403, r.text);
    assert.match(r.text, /another origin/);
    await refused(edge, /admin: POST \/reload refused: Origin "http:\/\/evil\.example" is not the admin endpoint's/);
    assert.equal(count(edge, 'config reloaded from'), before, 'no reload happened');
  });

  it('a cross-site POST /certs/renew is refused 403 and does not renew', async () => {
    const serial = await servedSerial(https, NAME, root);
    const r = await toAdmin(admin, 'POST', `/certs/renew?name=${NAME}`, { origin: EVIL });
    assert.equal(r.status, 403, r.text);
    await refused(edge, /admin: POST \/certs\/renew refused: Origin "http:\/\/evil\.example"/);
    assert.equal(count(edge, `renewal of ${NAME} requested`), 0);
    assert.equal(await servedSerial(https, NAME, root), serial, 'the same certificate is served');
  });

  it('a cross-site POST /cache/purge is refused 403 and purges nothing', async () => {
    assert.match(await cachedPage(port), /^edge; hit/);
    const r = await toAdmin(admin, 'POST', '/cache/purge?url=http://test.example/page', { origin: EVIL });
    assert.equal(r.status, 403, r.text);
    await refused(edge, /admin: POST \/cache\/purge refused: Origin "http:\/\/evil\.example"/);
    assert.equal(count(edge, 'admin: cache purge of'), 0);
    assert.match(String((await fetchRaw(port, '/page')).headers['cache-status']), /^edge; hit/, 'still cached');
  });

  it('Sec-Fetch-Site: cross-site is refused (and same-site), with no Origin', async () => {
    const before = count(edge, 'config reloaded from');
    for (const site of ['cross-site', 'same-site']) {
      const r = await toAdmin(admin, 'POST', '/reload', { 'sec-fetch-site': site });
      assert.equal(r.status, 403, `${site}: ${r.text}`);
      await refused(edge, new RegExp(`admin: POST /reload refused: Sec-Fetch-Site: ${site}`));
    }
    assert.equal(count(edge, 'config reloaded from'), before);
  });

  it('a page on another localhost port, an opaque Origin, or https to the endpoint is refused', async () => {
    const other = await freePort();
    for (const origin of [`http://127.0.0.1:${other}`, `http://localhost:${other}`, 'null', `https://127.0.0.1:${admin}`, `http://127.0.0.1.evil.example:${admin}`]) {
      const r = await toAdmin(admin, 'POST', '/reload', { origin });
      assert.equal(r.status, 403, `${origin}: ${r.text}`);
    }
  });

  it('a same-origin Origin is accepted: 127.0.0.1, localhost and [::1] on the admin port', async () => {
    for (const origin of [`http://127.0.0.1:${admin}`, `http://localhost:${admin}`, `http://[::1]:${admin}`, `http://LOCALHOST:${admin}`]) {
      const before = count(edge, 'config reloaded from');
      const r = await toAdmin(admin, 'POST', '/reload', { origin, 'sec-fetch-site': 'same-origin' });
      assert.equal(r.status, 200, `${origin}: ${r.text}`);
      await waitFor(() => count(edge, 'config reloaded from') === before + 1, `${origin}: the reload logged`);
    }
  });

  it('no Origin (CLI) is accepted: edge reload, edge certs renew, edge cache purge', async () => {
    const reload = await runEdge(['reload', '-c', file]);
    assert.equal(reload.code, 0, reload.stderr);
    const serial = await servedSerial(https, NAME, root);
    const renew = await runEdge(['certs', 'renew', NAME, '-c', file]);
    assert.equal(renew.code, 0, renew.stderr);
    assert.notEqual(await servedSerial(https, NAME, root), serial, 'a new certificate is served');
    assert.match(await cachedPage(port), /^edge; hit/);
    const purge = await runEdge(['cache', 'purge', 'http://test.example/page', '-c', file]);
    assert.equal(purge.code, 0, purge.stderr);
    assert.match(String((await fetchRaw(port, '/page')).headers['cache-status']), /miss/);
  });

  it('GET /health with a foreign Origin still answers (read-only)', async () => {
    const health = await toAdmin(admin, 'GET', '/health', { origin: EVIL, 'sec-fetch-site': 'cross-site' });
    assert.equal(health.status, 200, health.text);
    assert.equal((JSON.parse(health.text) as { status: string }).status, 'ok');
    const certs = await toAdmin(admin, 'GET', '/certs', { origin: EVIL });
    assert.equal(certs.status, 200, certs.text);
  });
  it('a request target like //a:99999 (an authority, to URL parsing) is answered 404 and edge keeps serving', async () => {
    // fetch with mode: no-cors can send this from any page; new URL() of it threw in the handler
    const socket = await rawConnect(admin);
    socket.on('error', () => {});
    socket.write(`GET //a:99999 HTTP/1.1\r\nHost: 127.0.0.1:${admin}\r\nConnection: close\r\n\r\n`);
    const reply = await readUntil(socket, /\r\n\r\n[\s\S]*\}/);
    assert.match(reply, /^HTTP\/1\.1 404 /);
    const health = await toAdmin(admin, 'GET', '/health');
    assert.equal(health.status, 200);
    assert.equal(edge.proc.exitCode, null);
    assert.doesNotMatch(edge.stderr(), /internal error/);
  });
});

describe('hostile admin requests, workers: 2 (the supervisor serves admin)', () => {
  let up: Upstream;
  let edge: EdgeProcess;
  let file: string;
  let port: number;
  let admin: number;
  before(async () => {
    up = await startUpstream(cacheable);
    port = await freePort();
    admin = await freePort();
    ({ file } = writeConfig(`
http_port: ${port}
bind: 127.0.0.1
admin: 127.0.0.1:${admin}
workers: 2
log: { access: off }
sites:
  - hosts: [test.example]
    tls: off
    routes:
      - { match: /, proxy: { to: ${up.address} }, cache: { max_size: 1MB, zone: main } }
`));
    edge = await startEdge(['run', '-c', file], { port, startMs: 60_000 });
  });
  after(async () => {
    await edge.stop();
    await up.close();
  });

  it('a cross-site POST /reload or /cache/purge is refused 403; edge reload and edge cache purge still work', async () => {
    for (const path of ['/reload', '/cache/purge?url=http://test.example/page']) {
      const r = await toAdmin(admin, 'POST', path, { origin: EVIL });
      assert.equal(r.status, 403, `${path}: ${r.text}`);
    }
    await refused(edge, /admin: POST \/cache\/purge refused: Origin "http:\/\/evil\.example"/);
    assert.equal(count(edge, 'config reloaded from'), 0);
    assert.equal(count(edge, 'admin: cache purge of'), 0);
    const reload = await runEdge(['reload', '-c', file]);
    assert.equal(reload.code, 0, reload.stderr);
    const purge = await runEdge(['cache', 'purge', 'http://test.example/page', '-c', file]);
    assert.equal(purge.code, 0, purge.stderr);
  });
});

describe('hostile admin requests over a Unix socket', () => {
  let up: Upstream;
  let edge: EdgeProcess;
  let file: string;
  let socketPath: string;
  before(async () => {
    up = await startUpstream(cacheable);
    const port = await freePort();
    socketPath = join(mkdtempSync(join(tmpdir(), 'edge-admin-sock-')), 'admin.sock');
    ({ file } = writeConfig(`
http_port: ${port}
bind: 127.0.0.1
admin: unix:${socketPath}
log: { access: off }
sites:
  - hosts: [test.example]
    tls: off
    routes:
      - proxy: { to: ${up.address} }
`));
    edge = await startEdge(['run', '-c', file], { port });
  });
  after(async () => {
    await edge.stop();
    await up.close();
  });

  const overSocket = (method: string, path: string, headers: Record<string, string>): Promise<number> => new Promise((resolve, reject) => {
    const req = request({ socketPath, method, path, headers: { host: 'localhost', ...headers } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode!));
    });
    req.on('error', reject).end();
  });

  it('any Origin on a state-changing request is refused; none (edge reload) is accepted', async () => {
    assert.equal(await overSocket('POST', '/reload', { origin: 'http://localhost' }), 403);
    await refused(edge, /admin: POST \/reload refused: Origin "http:\/\/localhost" on a Unix socket/);
    assert.equal(count(edge, 'config reloaded from'), 0);
    assert.equal(await overSocket('GET', '/health', { origin: EVIL }), 200);
    const reload = await runEdge(['reload', '-c', file]);
    assert.equal(reload.code, 0, reload.stderr);
    await waitFor(() => count(edge, 'config reloaded from') === 1, 'the reload logged');
  });
});
