// A reload of an unchanged cache: it emptied the cache and reset its counters every time (a new
// generation made new zones); a zone whose settings are the same keeps its entries and counters,
// one whose settings changed starts afresh.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { freePort, runEdge, startEdge } from '../helpers/edge.ts';
import { startUpstream } from '../helpers/upstream.ts';
import { fetchRaw } from '../helpers/http.ts';
import { writeConfig } from '../helpers/config.ts';

describe('cache across reloads', () => {
  it('a reload of the unchanged file keeps the cache\'s entries and counters (it emptied them)', async () => {
    const up = await startUpstream((req, res) => {
      res.writeHead(200, { 'cache-control': 'max-age=600' });
      res.end(`app ${req.url}`);
    });
    const port = await freePort();
    const admin = await freePort();
    const yaml = (size: string) => `http_port: ${port}
bind: 127.0.0.1
admin: 127.0.0.1:${admin}
log: { access: off }
sites:
  - hosts: [test.example]
    tls: off
    cache: { max_size: ${size} }
    routes:
      - proxy: { to: ${up.address} }
`;
    const { file } = writeConfig(yaml('16MB'));
    const edge = await startEdge(['run', '-c', file], { port });
    const zone = async () => ((await (await fetch(`http://127.0.0.1:${admin}/cache`)).json()) as { zones: { entries: number; hits: number; misses: number }[] }).zones[0]!;
    const reload = async () => assert.equal((await runEdge(['reload', '-c', file])).code, 0);
    try {
      await fetchRaw(port, '/a');
      assert.match(String((await fetchRaw(port, '/a')).headers['cache-status']), /^edge; hit/);
      await reload();
      assert.match(String((await fetchRaw(port, '/a')).headers['cache-status']), /^edge; hit/, 'still stored after the reload');
      assert.equal(up.requests.length, 1);
      const kept = await zone();
      assert.equal(kept.entries, 1);
      assert.equal(kept.hits, 2, 'the hits before the reload still count');
      assert.equal(kept.misses, 1);

      writeFileSync(file, yaml('32MB'));
      await reload();
      assert.match(String((await fetchRaw(port, '/a')).headers['cache-status']), /fwd=uri-miss/, 'changed settings: a new zone');
      assert.equal(up.requests.length, 2);
    } finally {
      await edge.stop();
      await up.close();
    }
  });
});
