// The cache when the upstream is gone, and under volume: stale-if-error and use_stale: [error]
// serve the stored response when the upstream process has been killed (502 without them), memory
// stays bounded when far more than max_size passes through (RSS measured in the edge process),
// and the one-liner's --cache with `edge cache purge` from the command line.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { freePort, runEdge, startEdge, type EdgeProcess } from '../helpers/edge.ts';
import { startUpstream, type Upstream } from '../helpers/upstream.ts';
import { writeConfig } from '../helpers/config.ts';
import { fetchRaw } from '../helpers/http.ts';

const MiB = 1024 * 1024;

/** An upstream in its own process, so it can be killed; prints READY once it listens. */
async function upstreamProcess(port: number): Promise<ChildProcess> {
  const code = `
    const http = require('node:http');
    let n = 0;
    http.createServer((req, res) => {
      n++;
      const cc = req.url.startsWith('/sie') ? 'max-age=1, stale-if-error=600'
        : req.url.startsWith('/mr') ? 'max-age=1, must-revalidate' : 'max-age=1';
      const body = req.url + ' #' + n;
      res.writeHead(200, { 'cache-control': cc, 'content-length': Buffer.byteLength(body) });
      res.end(body);
    }).listen(${port}, '127.0.0.1', () => console.log('READY'));`;
  const proc = spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    proc.stdout!.on('data', (d) => { if (String(d).includes('READY')) resolve(); });
    proc.once('exit', () => reject(new Error('upstream process exited')));
  });
  return proc;
}

describe('cache: upstream killed', () => {
  let edge: EdgeProcess;
  let app: ChildProcess;

  before(async () => {
    const appPort = await freePort();
    app = await upstreamProcess(appPort);
    const port = await freePort();
    const { file } = writeConfig(`
http_port: ${port}
bind: 127.0.0.1
admin: off
log: { access: off, error: stderr }
sites:
  - hosts: [test.example]
    tls: off
    routes:
      - match: /lenient/
        proxy: { to: 127.0.0.1:${appPort} }
        cache: { use_stale: [error] }
      - proxy: { to: 127.0.0.1:${appPort} }
        cache: {}
`);
    edge = await startEdge(['run', '-c', file], { port });
  });

  after(async () => {
    app?.kill('SIGKILL');
    await edge?.stop();
  });

  it('serves stale with stale-if-error (and use_stale: [error]), 502 otherwise or with must-revalidate', async () => {
    for (const path of ['/sie', '/lenient/x', '/plain', '/mr']) {
      const a = await fetchRaw(edge.port, path);
      assert.equal(a.status, 200, path);
    }
    app.kill('SIGKILL');
    await new Promise((r) => app.once('exit', r));
    await new Promise((r) => setTimeout(r, 2100)); // every entry is stale now

    const sie = await fetchRaw(edge.port, '/sie');
    assert.equal(sie.status, 200);
    assert.equal(sie.text, '/sie #1');
    assert.match(String(sie.headers['cache-status']), /fwd=stale; fwd-status=502; detail=stale-if-error/);

    const lenient = await fetchRaw(edge.port, '/lenient/x');
    assert.equal(lenient.status, 200);
    assert.equal(lenient.text, '/lenient/x #2');

    const plain = await fetchRaw(edge.port, '/plain');
    assert.equal(plain.status, 502);
    const mr = await fetchRaw(edge.port, '/mr');
    assert.equal(mr.status, 502, 'must-revalidate forbids stale');
  });
});

describe('cache: bounded memory', () => {
  it('holds at most max_size while 400 MiB of distinct 1 MiB responses pass through; RSS settles', async (t) => {
    const body = Buffer.alloc(MiB, 'm');
    const up: Upstream = await startUpstream((_req, res) => {
      res.writeHead(200, { 'cache-control': 'max-age=600', 'content-length': body.length });
      res.end(body);
    });
    const port = await freePort();
    const admin = await freePort();
    const { file } = writeConfig(`
http_port: ${port}
bind: 127.0.0.1
admin: 127.0.0.1:${admin}
log: { access: off }
sites:
  - hosts: [test.example]
    tls: off
    routes:
      - proxy: { to: ${up.address} }
        cache: { max_size: 32MiB, max_object_size: 2MiB }
`);
    const edge = await startEdge(['run', '-c', file], { port });
    try {
      await fetchRaw(port, '/warm');
      const idle = edge.memory().rss;
      const rss: number[] = [];
      for (let i = 0; i < 400; i++) {
        const a = await fetchRaw(port, `/obj/${i}`);
        assert.equal(a.body.length, MiB);
        if (i % 50 === 49) rss.push(edge.memory().rss);
      }
      const stats = await (await fetch(`http://127.0.0.1:${admin}/cache`)).json() as { zones: { bytes: number; entries: number }[] };
      const zone = stats.zones[0]!;
      assert.ok(zone.bytes <= 32 * MiB, `cache holds ${zone.bytes} bytes`);
      assert.ok(zone.entries >= 20 && zone.entries <= 32, `${zone.entries} entries`);
      // once the cache is full, RSS must stop growing with what passes through: the last
      // reading is within 48 MiB of the one taken after 100 MiB (GC slack), and far below 400 MiB
      const mib = rss.map((r) => Math.round(r / MiB));
      t.diagnostic(`RSS idle ${Math.round(idle / MiB)} MiB, every 50 MiB passed: ${mib.join(', ')} MiB; cache ${zone.entries} entries, ${zone.bytes} bytes`);
      assert.ok(rss.at(-1)! - rss[1]! < 48 * MiB, `RSS by 50 MiB passed: ${mib.join(', ')} MiB`);
      assert.ok(rss.at(-1)! - idle < 160 * MiB, `RSS idle ${Math.round(idle / MiB)}, then ${mib.join(', ')} MiB`);
      // the most recent ones are still hits
      const again = await fetchRaw(port, '/obj/399');
      assert.match(String(again.headers['cache-status']), /hit/);
    } finally {
      await edge.stop();
      await up.close();
    }
  });
});

describe('cache: one-liner and command line', () => {
  it('--cache SIZE caches the app; edge cache purge URL removes it; edge cache shows the zone', async () => {
    let n = 0;
    const up = await startUpstream((_req, res) => {
      n++;
      res.writeHead(200, { 'cache-control': 'max-age=600', 'content-length': 1 });
      res.end('x');
    });
    const admin = await freePort();
    const edge = await startEdge(['--domain', 'test.example', '--to', up.address, '--cache', '16MB', '--http-port', '{port}', '--tls', 'off', '--bind', '127.0.0.1', '--admin', `127.0.0.1:${admin}`, '--access-log', 'off']);
    try {
      await fetchRaw(edge.port, '/a');
      await fetchRaw(edge.port, '/a');
      assert.equal(n, 1);
      const { file } = writeConfig(`admin: 127.0.0.1:${admin}\n`);
      const purge = await runEdge(['cache', 'purge', 'http://test.example/a', '-c', file]);
      assert.equal(purge.stdout.replace(/^from running edge .*\n/, ''), 'http://test.example/a: 1 entry removed\n', purge.stderr);
      assert.equal(purge.code, 0);
      await fetchRaw(edge.port, '/a');
      assert.equal(n, 2);
      const prefix = await runEdge(['cache', 'purge', 'test.example/', '--prefix', '-c', file]);
      assert.equal(prefix.stdout.replace(/^from running edge .*\n/, ''), 'test.example/ (prefix): 1 entry removed\n', prefix.stderr);
      const stats = await runEdge(['cache', '-c', file]);
      assert.match(stats.stdout, /^from running edge .*\ntest\.example: 0 entries, 0\.0 MiB of 15\.3 MiB; 1 hits, 2 misses/);
    } finally {
      await edge.stop();
      await up.close();
    }
  });
});
