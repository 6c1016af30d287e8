// Wildcard certificates by DNS-01 against real servers: Knot authoritative for a test zone on
// loopback with a TSIG key, Pebble resolving through that Knot, so Pebble's validation reads the
// TXT record edge published by RFC 2136 update. One certificate for *.wild.edge-e2e.net and
// wild.edge-e2e.net, served to two subdomains and the apex; the record gone from the zone after. A
// wrong TSIG key: a clear error naming the server and the refusal, and nothing left in the zone.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect, type PeerCertificate } from 'node:tls';
import { freePort, runEdge, startEdge, waitFor, type EdgeProcess, logMessages } from '../helpers/edge.ts';
import { startUpstream, type Upstream } from '../helpers/upstream.ts';
import { writeConfig } from '../helpers/config.ts';
import { startPebble, type Pebble } from '../helpers/pebble.ts';
import { startKnot, type Knot } from '../helpers/knot.ts';
import { httpsGet } from '../helpers/tls-client.ts';

// *.test.example would get edge's local CA (.example is a reserved, local suffix): a public-looking zone
const ZONE = 'wild.edge-e2e.net';
const CHALLENGE = `_acme-challenge.${ZONE}`;
const Z = ZONE.replace(/\./g, '\\.');

function dnsConfig(knot: Knot, secret: string): string {
  return `  dns:
    provider: rfc2136
    server: ${knot.address}
    zone: ${ZONE}
    key_name: ${knot.key.name}
    key_algorithm: ${knot.key.algorithm}
    key_secret: ${secret}
    propagation_timeout: 20s`;
}

async function edgeFor(pebble: Pebble, ports: { http: number; https: number }, up: Upstream, dns: string): Promise<EdgeProcess & { file: string }> {
  const { file } = writeConfig(`
http_port: ${ports.http}
https_port: ${ports.https}
bind: 127.0.0.1
admin: 127.0.0.1:${await freePort()}
storage: ${mkdtempSync(join(tmpdir(), 'edge-certs-'))}
acme:
  ca: ${pebble.directory}
  ca_root: ${pebble.listenerRootFile}
${dns}
sites:
  - hosts: ["*.${ZONE}", ${ZONE}]
    routes:
      - proxy: { to: ${up.address} }
`);
  return Object.assign(await startEdge(['run', '-c', file], { port: ports.http }), { file });
}

function peerCertificate(port: number, name: string, ca: string): Promise<PeerCertificate> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: '127.0.0.1', port, servername: name, ca }, () => {
      resolve(socket.getPeerCertificate());
      socket.end();
    });
    socket.on('error', reject);
  });
}

describe('a wildcard certificate by DNS-01 (rfc2136 to Knot, validated by Pebble through Knot)', () => {
  let knot: Knot;
  let pebble: Pebble;
  let up: Upstream;
  let edge: EdgeProcess & { file: string };
  let root: string;
  const ports = { http: 0, https: 0 };
  before(async () => {
    ports.http = await freePort();
    ports.https = await freePort();
    knot = await startKnot({ zone: ZONE });
    pebble = await startPebble({ httpPort: ports.http, tlsPort: ports.https, dnsServer: knot.address });
    up = await startUpstream((req, res) => res.end(`app: ${req.headers.host}${req.url}`), { unix: true });
    edge = await edgeFor(pebble, ports, up, dnsConfig(knot, knot.key.secret));
    await waitFor(() => new RegExp(`certificate \\*\\.${Z}: (issued by|FAILED)`).test(logMessages(edge.stderr())), () => `certificate issued\n${edge.stderr()}\n${knot.output()}`, 60_000);
    root = await pebble.issuingRoot();
  });
  after(async () => {
    await edge?.stop();
    await up?.close();
    await pebble?.stop();
    await knot?.stop();
  });

  it('logs its progress: ordering by dns-01, publishing the TXT record, waiting for it, issued', (t) => {
    const log = logMessages(edge.stderr());
    t.diagnostic(log.split('\n').filter((line) => line.startsWith('certificate ')).join('\n'));
    assert.match(log, new RegExp(`certificate \\*\\.${Z}: ordering \\(dns-01\\)`));
    assert.match(log, new RegExp(`certificate \\*\\.${Z}: publishing TXT ${CHALLENGE} \\(rfc2136 update to ${knot.address} \\(zone ${Z}\\)\\)`));
    // the zone has no NS records the system resolver can find: the configured primary is checked
    assert.match(log, new RegExp(`cannot find the NS servers of ${Z} \\(.*\\); checking ${knot.address} only`));
    assert.match(log, new RegExp(`certificate \\*\\.${Z}: issued by Pebble Intermediate CA [0-9a-f]+ in [\\d.]+ s`));
  });

  it('serves one certificate for the wildcard and the apex to two subdomains and the apex, verified against Pebble\'s root', async () => {
    const serials = new Set<string>();
    for (const name of [`a.${ZONE}`, `b.${ZONE}`, ZONE]) {
      const cert = await peerCertificate(ports.https, name, root);
      assert.equal(cert.subjectaltname, `DNS:*.${ZONE}, DNS:${ZONE}`);
      serials.add(cert.serialNumber);
      const answer = await httpsGet(ports.https, name, '/x', root);
      assert.equal(answer.text, `app: ${name}/x`);
    }
    assert.equal(serials.size, 1);
  });

  it('the wildcard covers one label only: a.b.ZONE gets no certificate', async () => {
    await assert.rejects(peerCertificate(ports.https, `a.b.${ZONE}`, root), /socket disconnected|alert|ECONNRESET/i);
  });

  it('leaves no TXT record in the zone', async () => {
    assert.deepEqual(await knot.txt(CHALLENGE), []);
  });

  it('renews the wildcard on edge certs renew: a new certificate served to the subdomains, the zone clean again', async () => {
    const before = (await peerCertificate(ports.https, `a.${ZONE}`, root)).serialNumber;
    const r = await runEdge(['certs', 'renew', `*.${ZONE}`, '-c', edge.file]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`\\*\\.${Z}: new certificate from Pebble Intermediate CA`));
    const after = await peerCertificate(ports.https, `b.${ZONE}`, root);
    assert.notEqual(after.serialNumber, before);
    assert.equal(after.subjectaltname, `DNS:*.${ZONE}, DNS:${ZONE}`);
    assert.deepEqual(await knot.txt(CHALLENGE), []);
  });
});

describe('DNS-01 with a wrong TSIG key', () => {
  let knot: Knot;
  let pebble: Pebble;
  let up: Upstream;
  let edge: EdgeProcess;
  const ports = { http: 0, https: 0 };
  before(async () => {
    ports.http = await freePort();
    ports.https = await freePort();
    knot = await startKnot({ zone: ZONE });
    pebble = await startPebble({ httpPort: ports.http, tlsPort: ports.https, dnsServer: knot.address });
    up = await startUpstream((_req, res) => res.end('app'), { unix: true });
    edge = await edgeFor(pebble, ports, up, dnsConfig(knot, Buffer.alloc(32, 9).toString('base64')));
    await waitFor(() => new RegExp(`certificate \\*\\.${Z}: FAILED`).test(logMessages(edge.stderr())), () => `failure logged\n${edge.stderr()}`, 60_000);
  });
  after(async () => {
    await edge?.stop();
    await up?.close();
    await pebble?.stop();
    await knot?.stop();
  });

  it('fails with the server named and its refusal (NOTAUTH/BADSIG)', () => {
    const failed = logMessages(edge.stderr()).split('\n').find((l) => l.includes('FAILED'))!;
    assert.match(failed, new RegExp(`certificate \\*\\.${Z}: FAILED \\(attempt 1\\): DNS server ${knot.address} refused adding TXT ${CHALLENGE}: NOTAUTH/BADSIG \\(the key secret does not match the server's\\); the site has no certificate yet; next attempt at `));
  });

  it('leaves nothing in the zone, and tries no cleanup of an update that was refused', async () => {
    assert.deepEqual(await knot.txt(CHALLENGE), []);
    assert.doesNotMatch(logMessages(edge.stderr()), /could not remove TXT/);
  });
});
