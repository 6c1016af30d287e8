// `edge check` on the access keys (trusted_proxies, access, rate_limit, conn_limit): each mistake
// as one FILE:line:col line and exit 1.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runEdge } from '../helpers/edge.ts';
import { writeConfig } from '../helpers/config.ts';

const SITE = `sites:
  - hosts: [a.example]
    routes:
      - match: /
        respond: { body: hi }
`;

const BAD: { name: string; yaml: string; extra?: Record<string, string>; expected: string }[] = [
  {
    name: 'a trusted proxy that is not an address',
    yaml: `trusted_proxies: [10.0.0.0/8, proxy.example]\n${SITE}`,
    expected: 'FILE:1:31: trusted_proxies[1]: "proxy.example" is not an IP address or CIDR range (e.g. 10.0.0.0/8, 192.168.1.7, ::1, fd00::/8)',
  },
  {
    name: 'a CIDR prefix too long',
    yaml: `trusted_proxies:\n  - 10.0.0.0/33\n${SITE}`,
    expected: 'FILE:2:5: trusted_proxies[0]: "10.0.0.0/33": the prefix length must be 0-32',
  },
  {
    name: 'an access entry that is not an address',
    yaml: `sites:\n  - hosts: [a.example]\n    routes:\n      - respond: {}\n        access: { allow: [10.0.0.1, everyone] }\n`,
    expected: 'FILE:5:37: sites[0].routes[0].access.allow[1]: "everyone" is not an IP address or CIDR range (e.g. 10.0.0.0/8, 192.168.1.7, ::1, fd00::/8), or all',
  },
  {
    name: 'an inline hash that is not bcrypt',
    yaml: `sites:\n  - hosts: [a.example]\n    routes:\n      - respond: {}\n        access:\n          basic_auth: { users: { alice: "{SHA}abc=" } }\n`,
    expected: 'FILE:6:41: sites[0].routes[0].access.basic_auth.users.alice: a SHA-1 ({SHA}) hash; edge takes bcrypt hashes only (htpasswd -nB USER, or bcryptjs)',
  },
  {
    name: 'an htpasswd line with an MD5 hash: the file and its line',
    yaml: `sites:\n  - hosts: [a.example]\n    routes:\n      - respond: {}\n        access:\n          basic_auth: { users_file: DIR/htpasswd }\n`,
    extra: { htpasswd: `alice:$2b$05$${'a'.repeat(53)}\nbob:$apr1$xyz$abc\n` },
    expected: 'FILE:6:37: sites[0].routes[0].access.basic_auth.users_file: DIR/htpasswd:2: user "bob": an MD5 ($apr1$) hash; edge takes bcrypt hashes only (htpasswd -B)',
  },
  {
    name: 'a missing htpasswd file',
    yaml: `sites:\n  - hosts: [a.example]\n    routes:\n      - respond: {}\n        access:\n          basic_auth: { users_file: DIR/nope }\n`,
    expected: 'FILE:6:37: sites[0].routes[0].access.basic_auth.users_file: cannot read DIR/nope: ENOENT',
  },
  {
    name: 'a rate that is not one',
    yaml: `sites:\n  - hosts: [a.example]\n    routes:\n      - respond: {}\n        rate_limit: { rate: 10 per second }\n`,
    expected: 'FILE:5:29: sites[0].routes[0].rate_limit.rate: bad rate "10 per second" (use e.g. 10/s, 300/m, 1000/h)',
  },
  {
    name: 'a limit key that is neither client_ip nor header:NAME',
    yaml: `sites:\n  - hosts: [a.example]\n    routes:\n      - respond: {}\n        conn_limit: { max: 5, key: cookie }\n`,
    expected: 'FILE:5:36: sites[0].routes[0].conn_limit.key: key is client_ip or header:NAME (e.g. header:X-Api-Key)',
  },
];

describe('edge check: access keys', () => {
  for (const bad of BAD) {
    it(bad.name, async () => {
      const { dir } = writeConfig('');
      for (const [name, text] of Object.entries(bad.extra ?? {})) writeFileSync(join(dir, name), text);
      const file = join(dir, 'edge.yaml');
      writeFileSync(file, bad.yaml.replaceAll('DIR', dir));
      const r = await runEdge(['check', '-c', file]);
      assert.equal(r.code, 1, r.stderr);
      assert.equal(r.stderr.trim(), bad.expected.replaceAll('FILE', file).replaceAll('DIR', dir));
    });
  }

  it('a good config is ok', async () => {
    const { file } = writeConfig(`trusted_proxies: [10.0.0.0/8, "::1", 192.168.1.7]\n${SITE}`);
    const r = await runEdge(['check', '-c', file]);
    assert.equal(r.code, 0, r.stderr);
  });
});
