// edge check on acme.dns with rfc2136, against a real Knot: a signed SOA query finds a wrong TSIG
// key (an error naming the server and the refusal) and a server that does not answer (a warning)
// before any order; the right key is ok. Nothing is written to the zone.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { runEdge, freePort } from '../helpers/edge.ts';
import { writeConfig } from '../helpers/config.ts';
import { startKnot, type Knot } from '../helpers/knot.ts';

function config(server: string, secret: string, ports: { http: number; https: number }): string {
  return writeConfig(`http_port: ${ports.http}
https_port: ${ports.https}
bind: 127.0.0.1
admin: off
acme:
  dns:
    provider: rfc2136
    server: ${server}
    zone: test.example
    key_name: edge
    key_secret: ${secret}
sites:
  - hosts: [a.example.com]
    routes: [{ respond: { body: hi } }]
`).file;
}

describe('edge check with acme.dns rfc2136 (Knot)', () => {
  let knot: Knot;
  let silent: Socket;
  const ports = { http: 0, https: 0 };
  before(async () => {
    knot = await startKnot();
    ports.http = await freePort();
    ports.https = await freePort();
    // a UDP socket that never answers: a DNS server that is down or filtered
    silent = createSocket('udp4');
    silent.on('error', () => {});
    await new Promise<void>((resolve) => silent.bind(0, '127.0.0.1', resolve));
  });
  after(async () => {
    silent?.close();
    await knot?.stop();
  });

  it('ok with the right key', async () => {
    const file = config(knot.address, knot.key.secret, ports);
    const r = await runEdge(['check', '-c', file]);
    assert.equal(r.stderr, '');
    assert.equal(r.code, 0);
  });

  it('a wrong key: exit 1, the server named with NOTAUTH/BADSIG at acme.dns', async () => {
    const file = config(knot.address, Buffer.alloc(32, 5).toString('base64'), ports);
    const r = await runEdge(['check', '-c', file]);
    assert.equal(r.code, 1);
    assert.equal(r.stderr.trim(), `${file}:7:5: acme.dns: DNS server ${knot.address} refused the signed SOA query for test.example: NOTAUTH/BADSIG (the key secret does not match the server's)`);
  });

  it('a server that does not answer: a warning, exit 0', async () => {
    const address = `127.0.0.1:${silent.address().port}`;
    const file = config(address, knot.key.secret, ports);
    const r = await runEdge(['check', '-c', file]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, new RegExp(`acme\\.dns: DNS server ${address}: no answer in 2 s: DNS-01 updates will fail until it answers`));
  });
});
