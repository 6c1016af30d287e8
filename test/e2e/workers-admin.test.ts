// With workers each process keeps its own upstream pools and cache: the supervisor's admin
// endpoint asks every worker and answers with all of them, and `edge cache purge` empties the
// cache of every worker, not only the one a connection happened to reach.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { freePort, runEdge, startEdge, type EdgeProcess } from '../helpers/edge.ts';
import { startUpstream, type Upstream } from '../helpers/upstream.ts';
import { writeConfig } from '../helpers/config.ts';
import { fetchRaw } from '../helpers/http.ts';

interface PerWorker<T> {
  workers: { pid: number; status: number; body: T }[];
}

describe('admin routes with workers: 2', () => {
  let up: Upstream;
  let edge: EdgeProcess;
  let file: string;
  let port: number;
  let admin: number;
  before(async () => {
    up = await startUpstream((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain', 'cache-control': 'max-age=600' });
      res.end('cacheable');
    });
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

  const adminGet = async <T>(path: string, method = 'GET'): Promise<PerWorker<T>> => {
    const r = await fetchRaw(admin, path, { method, headers: { host: 'localhost' } });
    assert.equal(r.status, 200, r.text);
    return JSON.parse(r.text) as PerWorker<T>;
  };

  /** Requests on new connections until both workers have answered a hit (the kernel picks the worker). */
  const warmBothWorkers = async (): Promise<void> => {
    for (let i = 0; i < 400; i++) {
      assert.equal((await fetchRaw(port, '/page')).status, 200);
      const page = await adminGet<{ zones: { entries: number }[] }>('/cache');
      if (page.workers.every((w) => w.body.zones[0]!.entries === 1)) return;
    }
    assert.fail('both workers never stored /page in 400 requests');
  };

  it('GET /upstreams answers for every worker', async () => {
    const page = await adminGet<{ upstreams: { address: string; state: string }[] }>('/upstreams');
    assert.equal(page.workers.length, 2);
    assert.notEqual(page.workers[0]!.pid, page.workers[1]!.pid);
    for (const w of page.workers) {
      assert.equal(w.status, 200);
      assert.deepEqual(w.body.upstreams.map((u) => [u.address, u.state]), [[up.address, 'up']]);
    }
  });

  it('edge cache purge empties the cache of every worker', async () => {
    await warmBothWorkers();
    const stats = await runEdge(['cache', '-c', file]);
    assert.equal(stats.code, 0, stats.stderr);
    assert.match(stats.stdout, /^main: 2 entries/m, 'the two workers\' entries added up');
    const purge = await runEdge(['cache', 'purge', 'http://test.example/page', '-c', file]);
    assert.equal(purge.code, 0, purge.stderr);
    assert.match(purge.stdout, /http:\/\/test\.example\/page: 2 entries removed/);
    const after = await adminGet<{ zones: { entries: number }[] }>('/cache');
    assert.deepEqual(after.workers.map((w) => w.body.zones[0]!.entries), [0, 0]);
    const requestsBefore = up.requests.length;
    assert.equal((await fetchRaw(port, '/page')).status, 200);
    assert.equal(up.requests.length, requestsBefore + 1, 'after the purge the next request goes upstream');
  });
});
