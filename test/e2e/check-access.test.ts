// `edge check` on the access keys (trusted_proxies, access, rate_limit, conn_limit): each mistake
// as one FILE:line:col line and exit 1.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
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
];

describe('edge check: access keys', () => {
  for (const bad of BAD) {
    it(bad.name, async () => {
      const { file } = writeConfig(bad.yaml);
      const r = await runEdge(['check', '-c', file]);
      assert.equal(r.code, 1, r.stderr);
      assert.equal(r.stderr.trim(), bad.expected.replaceAll('FILE', file));
    });
  }

  it('a good config is ok', async () => {
    const { file } = writeConfig(`trusted_proxies: [10.0.0.0/8, "::1", 192.168.1.7]\n${SITE}`);
    const r = await runEdge(['check', '-c', file]);
    assert.equal(r.code, 0, r.stderr);
  });
});
