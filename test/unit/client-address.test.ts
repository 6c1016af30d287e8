// Who the client is behind trusted proxies (resolveClient): X-Forwarded-For walked from the right
// past trusted hops, as nginx's real_ip_recursive does; nothing believed from anyone else.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingHttpHeaders } from 'node:http';
import { plainAddress, requestClient, resolveClient, TrustedProxies } from '../../src/http/client-address.ts';
import { parseRange } from '../../src/http/address-ranges.ts';

const TRUST = new TrustedProxies(['10.0.0.0/8', '192.168.1.7', 'fd00::/8', '::1']);

function resolve(peer: string, xff: string | undefined, trust: TrustedProxies | undefined) {
  const headers: IncomingHttpHeaders = xff === undefined ? {} : { 'x-forwarded-for': xff };
  const req = { socket: { remoteAddress: peer }, headers };
  const client = resolveClient(req, trust);
  assert.equal(requestClient(req), client, 'requestClient agrees with resolveClient');
  return { client, xff: headers['x-forwarded-for'] };
}

describe('resolveClient', () => {
  const table: [string, string, string | undefined, TrustedProxies | undefined, string, string | undefined][] = [
    ['no trusted_proxies: the peer, header untouched', '10.0.0.1', '6.6.6.6', undefined, '10.0.0.1', '6.6.6.6'],
    ['untrusted peer: its header is not believed', '203.0.113.5', '6.6.6.6', TRUST, '203.0.113.5', '6.6.6.6'],
    ['trusted peer, one hop', '10.0.0.1', '198.51.100.4', TRUST, '198.51.100.4', undefined],
    ['right-most untrusted wins, spoofed entries left of it kept', '10.0.0.1', '6.6.6.6, 198.51.100.4, 10.2.3.4', TRUST, '198.51.100.4', '6.6.6.6'],
    ['all trusted: the left-most', '10.0.0.1', '10.9.9.9, 192.168.1.7', TRUST, '10.9.9.9', undefined],
    ['trusted peer without the header: the peer', '10.0.0.1', undefined, TRUST, '10.0.0.1', undefined],
    ['IPv4-mapped peer', '::ffff:10.0.0.1', '198.51.100.4', TRUST, '198.51.100.4', undefined],
    ['IPv6 peer and entries', '::1', '2001:db8::7, fd00::3', TRUST, '2001:db8::7', undefined],
    ['entries with ports and brackets', '10.0.0.1', '[2001:db8::7]:4711, 198.51.100.4:80', TRUST, '198.51.100.4', '[2001:db8::7]:4711'],
    ['garbage stops the walk at the hop that sent it', '10.0.0.1', 'not-an-ip, 10.3.3.3', TRUST, '10.3.3.3', undefined],
    ['garbage right away: the peer', '10.0.0.1', 'nonsense', TRUST, '10.0.0.1', undefined],
    ['a mapped entry is its IPv4 address', '10.0.0.1', '::ffff:198.51.100.4', TRUST, '198.51.100.4', undefined],
  ];
  for (const [name, peer, xff, trust, client, left] of table) {
    it(name, () => assert.deepEqual(resolve(peer, xff, trust), { client, xff: left }));
  }

  it('a request whose socket is gone is "-"', () => {
    assert.equal(resolveClient({ socket: undefined, headers: {} }, TRUST), '-');
  });
});

describe('parseRange', () => {
  it('takes IPs and CIDRs, v4 and v6', () => {
    for (const text of ['10.0.0.0/8', '192.168.1.7', '::1', 'fd00::/8', '0.0.0.0/0', '::/0']) {
      assert.equal(typeof parseRange(text), 'object', text);
    }
  });
  it('refuses what is not one, with the reason', () => {
    assert.match(parseRange('10.0.0.0/33') as string, /prefix length must be 0-32/);
    assert.match(parseRange('::/129') as string, /prefix length must be 0-128/);
    assert.match(parseRange('127.1') as string, /not an IP address or CIDR range/);
    assert.match(parseRange('example.com') as string, /not an IP address/);
    assert.match(parseRange('10.0.0.0/x') as string, /prefix length/);
  });
});

describe('plainAddress', () => {
  const cases: [string, string][] = [
    ['::ffff:127.0.0.1', '127.0.0.1'],
    ['::ffff:203.0.113.7', '203.0.113.7'],
    ['127.0.0.1', '127.0.0.1'],
    ['::1', '::1'],
    ['2001:db8::1', '2001:db8::1'],
    // not an IPv4-mapped address: IPv6 with ffff in it
    ['::ffff:1:2', '::ffff:1:2'],
    ['', ''],
  ];
  for (const [input, out] of cases) it(`${JSON.stringify(input)} → ${out}`, () => assert.equal(plainAddress(input), out));
});
