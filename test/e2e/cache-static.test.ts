// `--cache` with `--static DIR --to APP` (files first, then the app): the cache sat on the route
// the schema refused for it, so it cached nothing and the banner said nothing; the app's answers
// are cached, the files are served as files.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, startEdge } from '../helpers/edge.ts';
import { startUpstream } from '../helpers/upstream.ts';
import { fetchRaw } from '../helpers/http.ts';
import { writeConfig } from '../helpers/config.ts';

function site(): { dir: string } {
  const dir = mkdtempSync(join(tmpdir(), 'edge-static-'));
  writeFileSync(join(dir, 'style.css'), 'body{}');
  return { dir };
}

async function appRequestsCached(argsFor: (to: string, port: number) => string[]): Promise<void> {
  const up = await startUpstream((req, res) => {
    res.writeHead(200, { 'cache-control': 'max-age=60', 'content-type': 'text/plain' });
    res.end(`app ${req.url}`);
  });
  const port = await freePort();
  const edge = await startEdge(argsFor(up.address, port), { port });
  try {
    assert.match(edge.stderr(), /cached \(zone /, `the banner names the cache:\n${edge.stderr()}`);
    const first = await fetchRaw(edge.port, '/page');
    assert.equal(first.text, 'app /page');
    assert.match(String(first.headers['cache-status']), /fwd=uri-miss; fwd-status=200; stored/);
    const second = await fetchRaw(edge.port, '/page');
    assert.equal(second.text, 'app /page');
    assert.match(String(second.headers['cache-status']), /^edge; hit/);
    assert.equal(up.requests.length, 1, 'the second request was served from the cache');
    const file = await fetchRaw(edge.port, '/style.css');
    assert.equal(file.text, 'body{}');
    assert.equal(up.requests.length, 1, 'files do not go to the app');
  } finally {
    await edge.stop();
    await up.close();
  }
}

describe('cache on a files-then-app route', () => {
  it('--cache with --static and --to caches the app\'s responses (it cached nothing)', async () => {
    const { dir } = site();
    await appRequestsCached((to) => ['--domain', 'test.example', '--static', dir, '--to', to, '--cache', '64MB', '--http-port', '{port}', '--tls', 'off', '--bind', '127.0.0.1', '--admin', 'off']);
  });

  it('a site cache applies to a static route with a proxy fallback in a config file', async () => {
    const { dir } = site();
    await appRequestsCached((to, port) => ['run', '-c', writeConfig(`http_port: ${port}
bind: 127.0.0.1
admin: off
sites:
  - hosts: [test.example]
    tls: off
    cache: { max_size: 64MB }
    routes:
      - match: /
        static: { root: ${dir}, try_files: [$uri, "@proxy"] }
        proxy: { to: ${to} }
`).file]);
  });
});
