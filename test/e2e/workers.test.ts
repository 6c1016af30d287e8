// The acceptance run for production operation: edge with workers: 2 under a bounded keep-alive
// load while a worker is killed with SIGKILL and the config is reloaded 5 times with changed
// routes: no request fails (a request on a kept-alive socket the server closed may be retried once,
// as browsers do, and is counted apart); a WebSocket opened before the reloads keeps echoing; a
// broken config is refused with file:line:col while serving goes on. Also: /metrics adds up the
// workers, /health names them and counts restarts; five quick deaths in a row slow the restarts
// down (100 ms doubling), are reported as a crash loop, and edge serves on.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Agent, request } from 'node:http';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { WebSocketServer } from 'ws';
import { freePort, logMessages, runEdge, startEdge, waitFor, type EdgeProcess } from '../helpers/edge.ts';
import { startUpstream, type Upstream } from '../helpers/upstream.ts';
import { writeConfig } from '../helpers/config.ts';
import { fetchRaw } from '../helpers/http.ts';
import { scrape, value } from '../helpers/metrics.ts';
import { openWs, roundTrip } from '../helpers/ws.ts';

const CLIENTS = 8;
/** The load stops at the latest after this, whatever happens. */
const LOAD_CAP_MS = 120_000;

interface Tally {
  ok: number;
  retried: number;
  failed: string[];
}

/** One GET on a keep-alive agent: a reset on a reused socket before any answer is retried once. */
function get(agent: Agent, port: number, path: string, tally: Tally, retry = true): Promise<string | undefined> {
  return new Promise((resolve) => {
    let answered = false;
    const req = request({ host: '127.0.0.1', port, path, agent, headers: { host: 'test.example' } }, (res) => {
      answered = true;
      let text = '';
      res.on('data', (d) => (text += d));
      res.on('end', () => {
        if (res.statusCode === 200) {
          tally.ok++;
          resolve(text);
        } else {
          tally.failed.push(`${path}: status ${res.statusCode} ${text}`);
          resolve(undefined);
        }
      });
      res.on('error', (err) => {
        tally.failed.push(`${path}: response broke off: ${err.message}`);
        resolve(undefined);
      });
    });
    req.setTimeout(15_000, () => req.destroy(new Error('no answer in 15 s')));
    req.on('error', (err: NodeJS.ErrnoException) => {
      if (answered) return;
      if (retry && req.reusedSocket && (err.code === 'ECONNRESET' || err.code === 'EPIPE' || err.message === 'socket hang up')) {
        tally.retried++;
        void get(agent, port, path, tally, false).then(resolve);
        return;
      }
      tally.failed.push(`${path}: ${err.message}${req.reusedSocket ? ' (reused socket, retried already)' : ' (fresh socket)'}`);
      resolve(undefined);
    });
    req.end();
  });
}

interface Health {
  status: string;
  workers: { wanted: number; ready: number; pids: number[]; restarts: number; crash_loop: boolean };
}

async function health(admin: number): Promise<Health> {
  return JSON.parse((await fetchRaw(admin, '/health', { headers: { host: 'localhost' } })).text);
}

describe('workers: 2 under load, with reloads and a killed worker', () => {
  let up: Upstream;
  let wss: WebSocketServer;
  let edge: EdgeProcess;
  let file: string;
  let port: number;
  let admin: number;
  const config = (version: number, broken = false) => `
http_port: ${port}
bind: 127.0.0.1
admin: 127.0.0.1:${admin}
workers: 2
grace_period: 5m
log: { access: off }
sites:
  - hosts: [test.example]
    tls: off
    routes:
      - { match: /ws, proxy: { to: ${up.address} } }
      - { match: /app/, proxy: { to: ${up.address} } }
      - { match: =/v${version}, respond: { body: "route v${version}" } }
      - { match: /, respond: { ${broken ? 'bdy' : 'body'}: "v${version}" } }
`;

  before(async () => {
    up = await startUpstream((req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(`app ${req.url}`);
    });
    wss = new WebSocketServer({ server: up.server });
    wss.on('connection', (ws) => ws.on('message', (data) => ws.send(`echo:${data.toString()}`)));
    port = await freePort();
    admin = await freePort();
    ({ file } = writeConfig(config(0)));
    edge = await startEdge(['run', '-c', file], { port, startMs: 60_000 });
  });
  after(async () => {
    await edge.stop();
    wss.close();
    await up.close();
  });

  it('serves every request through 5 reloads and a SIGKILLed worker; a WebSocket from before keeps echoing', async () => {
    const before = await health(admin);
    assert.equal(before.status, 'ok');
    assert.equal(before.workers.pids.length, 2);

    const tally: Tally = { ok: 0, retried: 0, failed: [] };
    const agent = new Agent({ keepAlive: true, maxSockets: CLIENTS });
    let running = true;
    const deadline = Date.now() + LOAD_CAP_MS;
    const clients = Array.from({ length: CLIENTS }, async (_, i) => {
      for (let n = 0; running && Date.now() < deadline; n++) await get(agent, port, n % 2 === 0 ? '/' : `/app/${i}/${n}`, tally);
    });

    try {
      await waitFor(() => tally.ok > 50, 'the load under way', 30_000);

      // (b) a worker killed outright: its replacement takes over, nobody notices
      const victim = before.workers.pids[0]!;
      process.kill(victim, 'SIGKILL');
      await waitFor(() => /worker \d+ died \(SIGKILL\)/.test(logMessages(edge.stderr())), 'the death logged', 10_000);
      let after: Health | undefined;
      for (let i = 0; i < 150 && !(after?.workers.ready === 2 && !after.workers.pids.includes(victim)); i++) {
        await new Promise((r) => setTimeout(r, 200));
        after = await health(admin);
      }
      assert.equal(after!.workers.ready, 2, JSON.stringify(after));
      assert.equal(after!.workers.restarts, 1);
      assert.ok(!after!.workers.pids.includes(victim));

      const ws = await openWs(port, '/ws');
      assert.equal(await roundTrip(ws, 'before'), 'echo:before');

      // (a) five reloads, each with a changed route, checked on fresh connections at once
      for (let v = 1; v <= 5; v++) {
        writeFileSync(file, config(v));
        const r = await runEdge(['reload', '-c', file]);
        assert.deepEqual([r.code, r.stdout.replace(/ by edge pid \d+ .*/, ''), r.stderr], [0, `${file}: reloaded\n`, ''], `reload ${v}`);
        for (let k = 0; k < 4; k++) {
          assert.equal((await fetchRaw(port, '/')).text, `v${v}`);
          assert.equal((await fetchRaw(port, `/v${v}`)).text, `route v${v}`);
          assert.equal((await fetchRaw(port, `/v${v - 1}`)).text, `v${v}`, 'the old route is gone');
        }
        assert.equal(await roundTrip(ws, `after reload ${v}`), `echo:after reload ${v}`);
      }

      // a broken config: refused with its place, the running one keeps serving
      writeFileSync(file, config(6, true));
      const broken = await runEdge(['reload', '-c', file]);
      assert.equal(broken.code, 1);
      assert.match(broken.stderr, new RegExp(`^${file}:\\d+:\\d+: .*unknown key "bdy", did you mean "body"\\?\\n$`));
      assert.equal((await fetchRaw(port, '/')).text, 'v5');
      assert.equal(await roundTrip(ws, 'after the broken one'), 'echo:after the broken one');
      ws.close();

      const okBefore = tally.ok;
      await waitFor(() => tally.ok > okBefore + 50, 'the load goes on after all that', 30_000);
    } finally {
      running = false;
      await Promise.all(clients);
      agent.destroy();
    }
    console.log(`# load: ${tally.ok} requests ok, ${tally.retried} retried once on a closed keep-alive socket, ${tally.failed.length} failed`);
    assert.deepEqual(tally.failed, []);
    assert.ok(tally.ok > 200, `only ${tally.ok} requests`);
  });

  it('/metrics adds up both workers and counts the restart', async () => {
    const page = await scrape(admin);
    const before = value(page, 'edge_requests_total', { site: 'test.example', route: '/app/', status: '2xx' });
    for (let i = 0; i < 10; i++) assert.equal((await fetchRaw(port, `/app/m${i}`)).status, 200);
    const now = await scrape(admin);
    assert.equal(value(now, 'edge_requests_total', { site: 'test.example', route: '/app/', status: '2xx' }) - before, 10);
    assert.equal(value(now, 'edge_worker_restarts_total'), 1);
    assert.equal(value(now, 'edge_workers'), 2);
    assert.equal(value(now, 'edge_config_reloads_total', { result: 'ok' }), 5);
    // the broken file, refused by edge reload, was refused by the running edge too, and counted
    assert.equal(value(now, 'edge_config_reloads_total', { result: 'failed' }), 1);
  });
});

describe('workers: 2 killed over and over', () => {
  it('five quick deaths: restarts slow down, the loop is logged and in /health, and edge serves on', { timeout: 120_000 }, async () => {
    const port = await freePort();
    const admin = await freePort();
    const { file } = writeConfig(`
http_port: ${port}
bind: 127.0.0.1
admin: 127.0.0.1:${admin}
workers: 2
log: { access: off }
sites:
  - hosts: [test.example]
    tls: off
    routes: [{ respond: { body: alive } }]
`);
    const edge = await startEdge(['run', '-c', file], { port, startMs: 60_000 });
    try {
      let pids = (await health(admin)).workers.pids;
      for (let death = 1; death <= 5; death++) {
        const victim = pids[0]!;
        process.kill(victim, 'SIGKILL');
        await waitFor(() => logMessages(edge.stderr()).includes(`worker ${victim} died`), `the death of ${victim} logged`, 10_000);
        // the other worker answers while the victim's replacement waits out its delay
        assert.equal((await fetchRaw(port, '/', { headers: { host: 'test.example' } })).text, 'alive');
        let now = await health(admin);
        for (let i = 0; i < 150 && !(now.workers.ready === 2 && !now.workers.pids.includes(victim)); i++) {
          await new Promise((r) => setTimeout(r, 200));
          now = await health(admin);
        }
        assert.ok(now.workers.ready === 2 && !now.workers.pids.includes(victim), `a replacement for worker ${victim} (death ${death}): ${JSON.stringify(now)}`);
        assert.equal(now.workers.restarts, death);
        pids = now.workers.pids;
      }
      const log = logMessages(edge.stderr());
      // each quick death doubles the delay before the replacement starts
      const delays = [...log.matchAll(/died \(SIGKILL\) after [\d.]+ s; starting a new one(?: in (\d+) ms)?/g)].map((m) => Number(m[1] ?? 0));
      assert.deepEqual(delays, [100, 200, 400, 800, 1600], log);
      assert.equal(log.match(/workers are crash-looping: 5 deaths in the last 60 s/g)?.length, 1, log);
      const h = await health(admin);
      assert.equal(h.status, 'degraded');
      assert.equal(h.workers.crash_loop, true);
      assert.equal((await fetchRaw(port, '/', { headers: { host: 'test.example' } })).text, 'alive');
    } finally {
      await edge.stop();
    }
  });
});

describe('workers: 2 that cannot listen', () => {
  it('a port in use: one clear line, exit 1', async () => {
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const port = (blocker.address() as { port: number }).port;
    try {
      const r = await runEdge(['--domain', 'test.example', '--http-port', String(port), '--bind', '127.0.0.1', '--tls', 'off', '--admin', 'off', '--workers', '2']);
      assert.equal(r.code, 1);
      assert.equal(r.stderr, `edge: cannot listen on 127.0.0.1:${port}: the address is already in use\n`);
    } finally {
      blocker.close();
    }
  });
});

describe('--workers', () => {
  it('is auto or 1 to 64, on the one-liner and over a config file', async () => {
    const { file } = writeConfig('sites: []\n');
    const bad = await runEdge(['check', '-c', file, '--workers', 'many']);
    assert.deepEqual([bad.code, bad.stderr], [1, 'edge: --workers: expected auto or a number from 1 to 64, got "many"\n']);
    const oneLiner = await runEdge(['check', '--domain', 'a.example', '--workers', '0']);
    assert.equal(oneLiner.code, 1);
    assert.match(oneLiner.stderr, /^--workers: expected auto or a number of processes from 1 to 64\n$/);
    const ok = await runEdge(['check', '--domain', 'a.example', '--tls', 'off', '--http-port', String(await freePort()), '--workers', 'auto']);
    assert.equal(ok.code, 0, ok.stderr);
  });
});
