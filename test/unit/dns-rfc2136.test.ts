// The rfc2136 DNS provider and the propagation check against a real Knot: TSIG-signed updates
// (hmac-sha256 and hmac-sha512) read back with kdig, one value deleted beside another, a wrong
// secret or key name refused with the server named, and a TXT answer too big for UDP read over TCP.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startKnot, type Knot } from '../helpers/knot.ts';
import { Rfc2136Provider } from '../../src/tls/dns/rfc2136.ts';
import { waitForTxt } from '../../src/tls/dns/propagation.ts';
import type { TsigAlgorithm } from '../../src/tls/dns/tsig.ts';

function provider(knot: Knot, secret = knot.key.secret, keyName = knot.key.name): Rfc2136Provider {
  return new Rfc2136Provider({
    server: { host: '127.0.0.1', port: knot.port },
    zone: knot.zone,
    key: { name: keyName, algorithm: knot.key.algorithm as TsigAlgorithm, secret: Buffer.from(secret, 'base64') },
  });
}

for (const algorithm of ['hmac-sha256', 'hmac-sha512']) {
  describe(`rfc2136 updates signed with ${algorithm}, against Knot`, () => {
    let knot: Knot;
    before(async () => (knot = await startKnot({ algorithm })));
    after(() => knot?.stop());

    it('adds TXT records and deletes one value, leaving the other', async () => {
      const name = '_acme-challenge.test.example';
      await provider(knot).present(name, 'first-value');
      await provider(knot).present(name, 'second-value');
      assert.deepEqual((await knot.txt(name)).sort(), ['first-value', 'second-value']);
      await provider(knot).cleanup(name, 'first-value');
      assert.deepEqual(await knot.txt(name), ['second-value']);
      await provider(knot).cleanup(name, 'second-value');
      assert.deepEqual(await knot.txt(name), []);
    });

    it('a wrong secret is refused with NOTAUTH/BADSIG, naming the server, and changes nothing', async () => {
      const name = '_acme-challenge.badsig.test.example';
      await assert.rejects(provider(knot, Buffer.alloc(32, 7).toString('base64')).present(name, 'x'), (err: Error) => {
        assert.equal(err.message, `DNS server ${knot.address} refused adding TXT ${name}: NOTAUTH/BADSIG (the key secret does not match the server's)`);
        return true;
      });
      assert.deepEqual(await knot.txt(name), []);
    });

    it('an unknown key name is refused with NOTAUTH/BADKEY', async () => {
      await assert.rejects(provider(knot, knot.key.secret, 'nobody').present('_acme-challenge.test.example', 'x'), /refused adding TXT .*: NOTAUTH\/BADKEY/);
    });
  });
}

describe('rfc2136 updates Knot refuses for the zone', () => {
  let knot: Knot;
  before(async () => (knot = await startKnot()));
  after(() => knot?.stop());

  const inZone = (zone: string) => new Rfc2136Provider({
    server: { host: '127.0.0.1', port: knot.port },
    zone,
    key: { name: knot.key.name, algorithm: 'hmac-sha256', secret: Buffer.from(knot.key.secret, 'base64') },
  });

  it('a zone the server does not serve is NOTAUTH', async () => {
    await assert.rejects(inZone('other.example').present('_acme-challenge.other.example', 'x'), {
      message: `DNS server ${knot.address} refused adding TXT _acme-challenge.other.example: NOTAUTH (the server does not accept the key, or is not authoritative for the zone)`,
    });
  });

  it('a name outside the configured zone is NOTZONE', async () => {
    await assert.rejects(inZone('test.example').present('_acme-challenge.elsewhere.example', 'x'), /refused adding TXT _acme-challenge\.elsewhere\.example: NOTZONE \(the name is not in the zone\)/);
  });
});

describe('the propagation check, against Knot', () => {
  let knot: Knot;
  before(async () => (knot = await startKnot()));
  after(() => knot?.stop());

  it('waits until the server answers the value, and times out naming the server that does not', async () => {
    const name = '_acme-challenge.wait.test.example';
    const lines: string[] = [];
    const waiting = waitForTxt({ name, value: 'late', servers: [{ host: '127.0.0.1', port: knot.port }], timeoutMs: 20_000, progress: (l) => lines.push(l) });
    await new Promise((r) => setTimeout(r, 300));
    await provider(knot).present(name, 'late');
    await waiting;
    assert.equal(lines[0], `waiting for TXT ${name} at ${knot.address} (0 of 1 servers have it)`);
    await assert.rejects(
      waitForTxt({ name, value: 'never', servers: [{ host: '127.0.0.1', port: knot.port }], timeoutMs: 1500, progress: () => {} }),
      new RegExp(`TXT ${name} not seen at ${knot.address} after \\d+ s \\(the propagation timeout\\)`));
  });

  it('waits for every server: one that has not got the record (a lagging secondary) is named at the timeout', async () => {
    const secondary = await startKnot();
    try {
      const name = '_acme-challenge.lagging.test.example';
      await provider(knot).present(name, 'v');
      const lines: string[] = [];
      const servers = [{ host: '127.0.0.1', port: knot.port }, { host: '127.0.0.1', port: secondary.port }];
      await assert.rejects(waitForTxt({ name, value: 'v', servers, timeoutMs: 1500, progress: (l) => lines.push(l) }), (err: Error) => {
        assert.match(err.message, new RegExp(`^TXT ${name} not seen at ${secondary.address} after`));
        return true;
      });
      assert.equal(lines[0], `waiting for TXT ${name} at ${secondary.address} (1 of 2 servers have it)`);
      await provider(secondary).present(name, 'v');
      await waitForTxt({ name, value: 'v', servers, timeoutMs: 5000, progress: () => {} });
    } finally {
      await secondary.stop();
    }
  });

  it('reads an answer too big for UDP over TCP (truncated answer)', async () => {
    const name = '_acme-challenge.big.test.example';
    const values = Array.from({ length: 20 }, (_, i) => `value-${i}-${'x'.repeat(40)}`);
    for (const v of values) await provider(knot).present(name, v);
    await waitForTxt({ name, value: values.at(-1)!, servers: [{ host: '127.0.0.1', port: knot.port }], timeoutMs: 5000, progress: () => {} });
  });
});
