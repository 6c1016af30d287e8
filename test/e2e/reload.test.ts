// Zero-downtime reload of a one-process edge: `edge reload` and SIGHUP swap routes in place; a
// request and a WebSocket under way on the old config finish on it; a broken file changes nothing
// and is reported as file:line:col; certificates for new names are obtained and removed names
// stop being served; settings bound to sockets are reported as needing a restart.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebSocketServer } from 'ws';
import { freePort, logMessages, runEdge, startEdge, waitFor, type EdgeProcess } from '../helpers/edge.ts';
import { startUpstream, type Upstream } from '../helpers/upstream.ts';
import { writeConfig } from '../helpers/config.ts';
import { fetchRaw } from '../helpers/http.ts';
import { httpsGet } from '../helpers/tls-client.ts';
import { openWs, roundTrip } from '../helpers/ws.ts';

describe('reload', () => {
  let up: Upstream;
  let wss: WebSocketServer;
  let edge: EdgeProcess;
  let file: string;
  let port: number;
  let admin: number;
  let release: (() => void) | undefined;
  const config = (body: string, extra = '') => `
http_port: ${port}
bind: 127.0.0.1
admin: 127.0.0.1:${admin}
log: { access: off }
sites:
  - hosts: [test.example]
    tls: off
    routes:
      - { match: /slow, proxy: { to: ${up.address} } }
      - { match: /ws, proxy: { to: ${up.address} } }
      - { match: /, respond: { body: "${body}" } }
${extra}`;

  before(async () => {
    up = await startUpstream((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('slow ');
      release = () => res.end('done');
    });
    wss = new WebSocketServer({ server: up.server });
    wss.on('connection', (ws) => ws.on('message', (data) => ws.send(`echo:${data.toString()}`)));
    port = await freePort();
    admin = await freePort();
    ({ file } = writeConfig(config('one')));
    edge = await startEdge(['run', '-c', file], { port });
  });
  after(async () => {
    await edge.stop();
    wss.close();
    await up.close();
  });

  it('edge reload swaps the routes; a request and a WebSocket under way finish on the old config', async () => {
    assert.equal((await fetchRaw(port, '/')).text, 'one');
    const ws = await openWs(port, '/ws');
    assert.equal(await roundTrip(ws, 'before'), 'echo:before');
    const slow = fetchRaw(port, '/slow');
    await waitFor(() => release !== undefined, 'the slow request reached the upstream');
    // the new config sends /slow and /ws elsewhere: what started before must not notice
    writeFileSync(file, config('two').replace(/- \{ match: \/slow.*\n/, '').replace(/- \{ match: \/ws.*\n/, ''));
    const r = await runEdge(['reload', '-c', file]);
    assert.deepEqual([r.code, r.stdout, r.stderr], [0, `${file}: reloaded by edge pid ${edge.proc.pid} (${file}) at http://127.0.0.1:${admin}\n`, '']);
    assert.equal((await fetchRaw(port, '/')).text, 'two');
    assert.equal((await fetchRaw(port, '/slow')).text, 'two');
    assert.equal(await roundTrip(ws, 'after'), 'echo:after');
    release!();
    assert.equal((await slow).text, 'slow done');
    ws.close();
    await waitFor(() => /previous config retired: its requests finished/.test(logMessages(edge.stderr())), 'the old config retired once its WebSocket closed');
  });

  it('a broken file: edge reload prints file:line:col and exits 1, the running config keeps serving', async () => {
    writeFileSync(file, config('three').replace('respond: { body: "three" }', 'respond: { bodey: "three" }'));
    const r = await runEdge(['reload', '-c', file]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, new RegExp(`^${file}:\\d+:\\d+: .*unknown key "bodey", did you mean "body"\\?\\n$`));
    assert.equal((await fetchRaw(port, '/')).text, 'two');
  });

  it('SIGHUP reloads; a broken file on SIGHUP is logged and changes nothing', async () => {
    writeFileSync(file, config('four'));
    // only what is logged after this signal counts: earlier tests reloaded too
    const from = edge.stderr().length;
    edge.proc.kill('SIGHUP');
    await waitFor(() => /SIGHUP received[^]*config reloaded from/.test(logMessages(edge.stderr().slice(from))), 'reload logged');
    assert.equal((await fetchRaw(port, '/')).text, 'four');
    writeFileSync(file, 'sites: [');
    edge.proc.kill('SIGHUP');
    await waitFor(() => /reload refused, the running config keeps serving: .*edge\.yaml:\d+:\d+/.test(logMessages(edge.stderr())), () => `refusal logged:\n${logMessages(edge.stderr())}`);
    assert.equal((await fetchRaw(port, '/')).text, 'four');
  });

  it('settings bound to the listeners are reported as needing a restart', async () => {
    writeFileSync(file, config('five').replace(`http_port: ${port}`, `http_port: ${port}\nlimits: { max_header_size: 8KiB }`));
    const r = await runEdge(['reload', '-c', file]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^warning: limits\.max_header_size changed \(16384 → 8192\): restart edge to apply it$/m);
    assert.equal((await fetchRaw(port, '/')).text, 'five');
  });

  it('edge reload with admin off says to send SIGHUP', async () => {
    const { file: other } = writeConfig('admin: off\n');
    const r = await runEdge(['reload', '-c', other]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /admin is off .*SIGHUP/);
  });
});

describe('reload and certificates', () => {
  it('a new name gets a certificate, a removed name stops being served', async () => {
    const port = await freePort();
    const https = await freePort();
    const admin = await freePort();
    const storage = mkdtempSync(join(tmpdir(), 'edge-reload-certs-'));
    const config = (hosts: string) => `
http_port: ${port}
https_port: ${https}
bind: 127.0.0.1
admin: 127.0.0.1:${admin}
storage: ${storage}
log: { access: off }
sites:
  - hosts: [${hosts}]
    tls: internal
    routes: [{ respond: { body: "hi" } }]
`;
    const { file } = writeConfig(config('a.localhost'));
    const edge = await startEdge(['run', '-c', file], { port });
    try {
      await waitFor(() => logMessages(edge.stderr()).includes('certificate a.localhost: issued'), 'the first certificate', 20_000);
      const root = readFileSync(join(storage, 'local', 'root.crt'), 'utf8');
      assert.equal((await httpsGet(https, 'a.localhost', '/', root)).text, 'hi');
      writeFileSync(file, config('b.localhost'));
      const r = await runEdge(['reload', '-c', file]);
      assert.equal(r.code, 0, r.stderr);
      await waitFor(() => logMessages(edge.stderr()).includes('certificate b.localhost: issued'), 'the new certificate', 20_000);
      assert.equal((await httpsGet(https, 'b.localhost', '/', root)).text, 'hi');
      await assert.rejects(httpsGet(https, 'a.localhost', '/', root), /alert|unrecognized name|ECONNRESET|socket hang up|disconnected before secure TLS/i);
      assert.match(logMessages(edge.stderr()), /reload: a\.localhost no longer served/);
    } finally {
      await edge.stop();
    }
  });
});
