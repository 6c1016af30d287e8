// `edge cache purge URL` on a site served on a non-default port: the browser's URL carries the
// port (https://localhost:37443/cached), the key does not (the Host's port is dropped, as nginx's
// $host); purge matches with the port and without it.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { freePort, runEdge, startEdge } from '../helpers/edge.ts';
import { startUpstream } from '../helpers/upstream.ts';
import { fetchRaw } from '../helpers/http.ts';

describe('cache purge and ports', () => {
  it('edge cache purge removes an entry stored through a non-default port, named with or without the port', async () => {
    const up = await startUpstream((req, res) => {
      res.writeHead(200, { 'cache-control': 'max-age=600' });
      res.end(`app ${req.url}`);
    });
    const admin = await freePort();
    const edge = await startEdge(['--domain', 'localhost', '--to', up.address, '--cache', '16MB', '--http-port', '{port}', '--tls', 'off', '--bind', '127.0.0.1', '--admin', `127.0.0.1:${admin}`]);
    const get = () => fetchRaw(edge.port, '/cached', { headers: { host: `localhost:${edge.port}` } });
    const purge = async (url: string) => {
      const r = await runEdge(['cache', 'purge', url, '--admin', `127.0.0.1:${admin}`]);
      assert.equal(r.code, 0, r.stderr);
      return r.stdout;
    };
    try {
      await get();
      assert.match(String((await get()).headers['cache-status']), /^edge; hit/);
      assert.match(await purge('http://localhost/cached'), /: 1 entry removed/);
      assert.match(String((await get()).headers['cache-status']), /fwd=uri-miss/);
      assert.match(await purge(`http://localhost:${edge.port}/cached`), /: 1 entry removed/);
      assert.match(String((await get()).headers['cache-status']), /fwd=uri-miss/);
      assert.equal(up.requests.length, 3);
    } finally {
      await edge.stop();
      await up.close();
    }
  });
});
