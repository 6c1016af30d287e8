// `cache:` in the config and `--cache` on the one-liner as `edge check` sees them: each mistake one
// line FILE:line:col, exit 1; and good cache configs pass.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { freePort, runEdge } from '../helpers/edge.ts';
import { writeConfig } from '../helpers/config.ts';

const SITE = `sites:
  - hosts: [a.example]
`;
const ROUTE = `${SITE}    routes:
`;

const BAD: { name: string; yaml: string; expected: string }[] = [
  {
    name: 'unknown cache key, with a suggestion',
    yaml: `${ROUTE}      - proxy: { to: 127.0.0.1:3000 }\n        cache: { max_sise: 10MB }\n`,
    expected: 'FILE:5:18: sites[0].routes[0].cache: unknown key "max_sise", did you mean "max_size"?',
  },
  {
    name: 'bad max_size',
    yaml: `${ROUTE}      - proxy: { to: 127.0.0.1:3000 }\n        cache: { max_size: lots }\n`,
    expected: 'FILE:5:28: sites[0].routes[0].cache.max_size: bad size "lots" (use e.g. 512KiB, 10MB, 1GiB)',
  },
  {
    name: 'cache on a route without a proxy',
    yaml: `${ROUTE}      - respond: { body: hi }\n        cache: { max_size: 10MB }\n`,
    expected: 'FILE:5:16: sites[0].routes[0].cache: cache applies to proxy routes: put it on a route with proxy: { to: ... }',
  },
  {
    name: 'unknown key field',
    yaml: `${ROUTE}      - proxy: { to: 127.0.0.1:3000 }\n        cache: { key: "{host}{url}" }\n`,
    expected: 'FILE:5:23: sites[0].routes[0].cache.key: unknown key field {url}: use {scheme}, {host}, {uri}, {path}, {query}, {header.NAME} or {cookie.NAME}',
  },
  {
    name: 'unknown use_stale entry',
    yaml: `${ROUTE}      - proxy: { to: 127.0.0.1:3000 }\n        cache: { use_stale: [error, timeout] }\n`,
    expected: 'FILE:5:37: sites[0].routes[0].cache.use_stale[1]: use_stale entries are error, updating',
  },
  {
    name: 'bad lock_timeout on a site cache',
    yaml: `${SITE}    cache: { lock_timeout: 5 }\n    routes:\n      - proxy: { to: 127.0.0.1:3000 }\n`,
    expected: 'FILE:3:28: sites[0].cache.lock_timeout: bad duration 5 (a bare number is ambiguous: write 5s)',
  },
  {
    name: 'cdn_cache_control that is not a header name',
    yaml: `${ROUTE}      - proxy: { to: 127.0.0.1:3000 }\n        cache: { cdn_cache_control: "CDN Cache" }\n`,
    expected: 'FILE:5:37: sites[0].routes[0].cache.cdn_cache_control: bad header name "CDN Cache": use letters, digits and "-", e.g. CDN-Cache-Control',
  },
  {
    name: 'cdn_cache_control naming Cache-Control itself',
    yaml: `${ROUTE}      - proxy: { to: 127.0.0.1:3000 }\n        cache: { cdn_cache_control: cache-control }\n`,
    expected: 'FILE:5:37: sites[0].routes[0].cache.cdn_cache_control: Cache-Control is what the targeted field overrides: name another header, e.g. CDN-Cache-Control',
  },
  {
    name: 'cdn_cache_control: true',
    yaml: `${ROUTE}      - proxy: { to: 127.0.0.1:3000 }\n        cache: { cdn_cache_control: true }\n`,
    expected: 'FILE:5:37: sites[0].routes[0].cache.cdn_cache_control: expected a header name such as CDN-Cache-Control, or false',
  },
];

describe('edge check: cache config', () => {
  for (const bad of BAD) {
    it(`${bad.name}: exit 1 with the place and message`, async () => {
      const { file } = writeConfig(bad.yaml);
      const r = await runEdge(['check', '-c', file]);
      assert.equal(r.stderr, `${bad.expected.replaceAll('FILE', file)}\n`);
      assert.equal(r.code, 1);
    });
  }

  it('a good route and site cache pass', async () => {
    const port = await freePort();
    const { file } = writeConfig(`http_port: ${port}\nhttps_port: ${await freePort()}\nbind: 127.0.0.1\n${SITE}    cache: { max_size: 64MB }\n    routes:
      - match: /api/
        proxy: { to: 127.0.0.1:3000 }
        cache:
          max_size: 10MB
          max_object_size: 1MB
          key: "{scheme}://{host}{path}?{query}{cookie.lang}"
          bypass: { cookies: [sessionid], headers: [authorization] }
          use_stale: [error, updating]
          store_set_cookie: false
          lock_timeout: 2s
          cdn_cache_control: Edge-Cache-Control
      - proxy: { to: 127.0.0.1:3000 }
        cache: { cdn_cache_control: off }
      - match: /b/
        proxy: { to: 127.0.0.1:3000 }
        cache: { cdn_cache_control: false }
`);
    const r = await runEdge(['check', '-c', file]);
    assert.deepEqual(r, { code: 0, stdout: `${file}: ok\n`, stderr: '' });
  });

  it('--cache takes a size, and names itself when the size is bad', async () => {
    const r = await runEdge(['check', '--domain', 'x.example', '--cache', 'huge']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /--cache: bad size "huge"/);
  });
});
