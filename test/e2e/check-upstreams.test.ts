// `edge check` on upstream pools: the exact FILE:line:col line for each kind of bad pool setting,
// the socket warning for a named pool, and the --lb flag.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, runEdge } from '../helpers/edge.ts';
import { writeConfig } from '../helpers/config.ts';

const ROUTE = `sites:
  - hosts: [a.example]
    tls: off
    routes:
`;

const BAD: { name: string; yaml: string; expected: string }[] = [
  {
    name: 'unknown balance policy',
    yaml: `${ROUTE}      - proxy: { to: [127.0.0.1:3000, 127.0.0.1:3001], balance: weighted }\n`,
    expected: 'FILE:5:65: sites[0].routes[0].proxy.balance: balance is round_robin, least_conn, random, p2c, ip_hash, first, header:NAME or cookie:NAME, got "weighted"',
  },
  {
    name: 'a route naming a pool that does not exist',
    yaml: `${ROUTE}      - proxy: { upstream: ap }\nupstreams:\n  app: { to: 127.0.0.1:3000 }\n`,
    expected: 'FILE:5:28: sites[0].routes[0].proxy.upstream: no pool named "ap" under upstreams: (known pools: app)',
  },
  {
    name: 'both to and upstream',
    yaml: `${ROUTE}      - proxy: { upstream: app, to: 127.0.0.1:3000 }\nupstreams:\n  app: { to: 127.0.0.1:3000 }\n`,
    expected: 'FILE:5:16: sites[0].routes[0].proxy: proxy has both to and upstream: use to for addresses here, or upstream to name a shared pool',
  },
  {
    name: 'a pool setting on a route that names a shared pool',
    yaml: `${ROUTE}      - proxy:\n          upstream: app\n          balance: p2c\nupstreams:\n  app: { to: 127.0.0.1:3000 }\n`,
    expected: 'FILE:7:20: sites[0].routes[0].proxy.balance: balance belongs to the pool upstreams.app, not to a route that names it',
  },
  {
    name: 'weight out of range',
    yaml: `${ROUTE}      - proxy:\n          to:\n            - { address: 127.0.0.1:3000, weight: 0 }\n`,
    expected: 'FILE:7:50: sites[0].routes[0].proxy.to[0].weight: weight must be 1-1000',
  },
  {
    name: 'misspelt key of an upstream entry',
    yaml: `${ROUTE}      - proxy:\n          to:\n            - { address: 127.0.0.1:3000, wieght: 2 }\n`,
    expected: 'FILE:7:42: sites[0].routes[0].proxy.to[0]: unknown key "wieght", did you mean "weight"?',
  },
  {
    name: 'bad address in an upstream entry',
    yaml: `${ROUTE}      - proxy:\n          to:\n            - { address: localhost }\n`,
    expected: 'FILE:7:26: sites[0].routes[0].proxy.to[0].address: expected host:port, http://host:port, https://host:port or unix:/path, got "localhost"',
  },
  {
    name: 'health check without a path',
    yaml: `${ROUTE}      - proxy: { to: 127.0.0.1:3000, health: { interval: 5s } }\n`,
    expected: 'FILE:5:46: sites[0].routes[0].proxy.health: missing required key "path"',
  },
  {
    name: 'health interval as a bare number',
    yaml: `${ROUTE}      - proxy: { to: 127.0.0.1:3000, health: { path: /h, interval: 5 } }\n`,
    expected: 'FILE:5:68: sites[0].routes[0].proxy.health.interval: bad duration 5 (a bare number is ambiguous: write 5s)',
  },
  {
    name: 'fail_status that is not a 5xx',
    yaml: `${ROUTE}      - proxy: { to: 127.0.0.1:3000, fail_status: [404] }\n`,
    expected: 'FILE:5:52: sites[0].routes[0].proxy.fail_status[0]: fail_status lists 5xx statuses',
  },
  {
    name: 'a named pool without to',
    yaml: `${ROUTE}      - proxy: { upstream: app }\nupstreams:\n  app: { balance: p2c }\n`,
    expected: 'FILE:7:8: upstreams.app: missing required key "to"',
  },
];

describe('edge check: bad upstream pools', () => {
  for (const bad of BAD) {
    it(`${bad.name}: exit 1 with the exact place and message`, async () => {
      const { file } = writeConfig(bad.yaml);
      const r = await runEdge(['check', '-c', file]);
      assert.deepEqual(r.stderr.split('\n'), [bad.expected.replaceAll('FILE', file), '']);
      assert.equal(r.code, 1);
    });
  }
});

describe('edge check: upstream pools on this machine, and --lb', () => {
  it('warns about a named pool\'s missing Unix socket, and passes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'edge-sock-'));
    const port = await freePort();
    const { file } = writeConfig(`http_port: ${port}\nbind: 127.0.0.1\n${ROUTE}      - proxy: { upstream: app }\nupstreams:\n  app:\n    to: [127.0.0.1:3000, unix:${dir}/none.sock]\n`);
    const r = await runEdge(['check', '-c', file]);
    assert.equal(r.stderr, `${file}:10:26: warning: upstreams.app.to[1]: upstream unix:${dir}/none.sock does not exist (is the app running?)\n`);
    assert.equal(r.code, 0);
  });

  it('warns about a named pool that no route uses', async () => {
    const port = await freePort();
    const { file } = writeConfig(`http_port: ${port}\nbind: 127.0.0.1\n${ROUTE}      - proxy: { upstream: app }\nupstreams:\n  app: { to: 127.0.0.1:3000 }\n  spare: { to: 127.0.0.1:3001 }\n`);
    const r = await runEdge(['check', '-c', file]);
    assert.equal(r.stderr, `${file}:10:3: warning: upstreams.spare: pool spare is named by no route (proxy: { upstream: spare }), so it is not used\n`);
    assert.equal(r.code, 0);
  });

  it('--lb takes a policy, and says which when it is not one', async () => {
    const port = String(await freePort());
    const ok = await runEdge(['check', '--domain', 'a.test', '--to', '127.0.0.1:1', '--to', 'unix:/tmp/x.sock', '--lb', 'cookie:sid', '--tls', 'off', '--http-port', port]);
    assert.equal(ok.code, 0, ok.stderr);
    const bad = await runEdge(['check', '--domain', 'a.test', '--to', '127.0.0.1:1', '--lb', 'fastest', '--tls', 'off', '--http-port', port]);
    assert.equal(bad.stderr, '--lb: balance is round_robin, least_conn, random, p2c, ip_hash, first, header:NAME or cookie:NAME, got "fastest"\n');
    assert.equal(bad.code, 1);
    const alone = await runEdge(['check', '--domain', 'a.test', '--static', '/tmp', '--lb', 'p2c', '--tls', 'off', '--http-port', port]);
    assert.equal(alone.stderr, '--lb: --lb spreads requests over the --to upstreams, and there are none\n');
  });
});
