// Certificates with workers: 2. The supervisor alone talks to the CA (one ACME client), and both
// workers must answer its HTTP-01 and TLS-ALPN-01 challenges (Pebble's validation connection may
// reach either) and then serve the certificate; a reload that adds a name gets it to every
// worker, one that removes a name takes it from every worker; on-demand TLS asks and orders once
// for both workers.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, logMessages, runEdge, startEdge, waitFor } from '../helpers/edge.ts';
import { startUpstream } from '../helpers/upstream.ts';
import { writeConfig } from '../helpers/config.ts';
import { startPebble } from '../helpers/pebble.ts';
import { httpsGet } from '../helpers/tls-client.ts';
import { startAskServer } from '../helpers/ask.ts';

/** Fresh connections: with two workers sharing the socket, a handful reach both. */
const HANDSHAKES = 12;

for (const challenge of ['http-01', 'tls-alpn-01']) {
  it(`workers: 2 obtain a certificate from Pebble by ${challenge} through the supervisor, and every worker serves it`, async () => {
    const ports = { http: await freePort(), https: await freePort() };
    const pebble = await startPebble({ httpPort: ports.http, tlsPort: ports.https });
    const up = await startUpstream((req, res) => res.end(`app ${req.url}`));
    const storage = mkdtempSync(join(tmpdir(), 'edge-workers-acme-'));
    const { file } = writeConfig(`
http_port: ${ports.http}
https_port: ${ports.https}
bind: 127.0.0.1
admin: off
workers: 2
storage: ${storage}
acme: { ca: "${pebble.directory}", ca_root: ${pebble.listenerRootFile}, challenges: [${challenge}], preflight: false }
sites:
  - hosts: [w.edge-e2e.net]
    routes: [{ proxy: { to: ${up.address} } }]
`);
    const edge = await startEdge(['run', '-c', file], { port: ports.http, startMs: 60_000 });
    try {
      await waitFor(() => /certificate w\.edge-e2e\.net: issued/.test(logMessages(edge.stderr())), () => `certificate issued:\n${logMessages(edge.stderr())}`, 60_000);
      assert.equal(logMessages(edge.stderr()).match(/certificate w\.edge-e2e\.net: ordering/g)?.length, 1, 'one order, by the supervisor');
      const root = await pebble.issuingRoot();
      for (let i = 0; i < HANDSHAKES; i++) assert.equal((await httpsGet(ports.https, 'w.edge-e2e.net', `/${i}`, root)).text, `app /${i}`);
    } finally {
      await edge.stop();
      await up.close();
      await pebble.stop();
    }
  });
}

describe('workers: 2 and a reload that changes names', () => {
  it('a new name is served by every worker, a removed one by none', async () => {
    const port = await freePort();
    const https = await freePort();
    const admin = await freePort();
    const storage = mkdtempSync(join(tmpdir(), 'edge-workers-certs-'));
    const config = (hosts: string) => `
http_port: ${port}
https_port: ${https}
bind: 127.0.0.1
admin: 127.0.0.1:${admin}
workers: 2
storage: ${storage}
log: { access: off }
sites:
  - hosts: [${hosts}]
    tls: internal
    routes: [{ respond: { body: "hi" } }]
`;
    const { file } = writeConfig(config('a.localhost'));
    const edge = await startEdge(['run', '-c', file], { port, startMs: 60_000 });
    try {
      await waitFor(() => logMessages(edge.stderr()).includes('certificate a.localhost: issued'), 'the first certificate', 30_000);
      const root = readFileSync(join(storage, 'local', 'root.crt'), 'utf8');
      for (let i = 0; i < HANDSHAKES; i++) assert.equal((await httpsGet(https, 'a.localhost', '/', root)).text, 'hi');
      writeFileSync(file, config('b.localhost'));
      const r = await runEdge(['reload', '-c', file]);
      assert.equal(r.code, 0, r.stderr);
      await waitFor(() => logMessages(edge.stderr()).includes('certificate b.localhost: issued'), 'the new certificate', 30_000);
      for (let i = 0; i < HANDSHAKES; i++) {
        assert.equal((await httpsGet(https, 'b.localhost', '/', root)).text, 'hi');
        await assert.rejects(httpsGet(https, 'a.localhost', '/', root), /alert|unrecognized name|ECONNRESET|socket hang up|disconnected before secure TLS/i);
      }
    } finally {
      await edge.stop();
    }
  });
});

describe('workers: 2 and on-demand TLS', () => {
  it('a handshake for an approved name gets a certificate, asked for and ordered once, and every worker serves it', async () => {
    const ports = { http: await freePort(), https: await freePort() };
    const pebble = await startPebble({ httpPort: ports.http, tlsPort: ports.https });
    const up = await startUpstream((req, res) => res.end(`app for ${req.headers.host}`));
    const ask = await startAskServer();
    const asked = ask.asked;
    const { file } = writeConfig(`
http_port: ${ports.http}
https_port: ${ports.https}
bind: 127.0.0.1
admin: off
workers: 2
storage: ${mkdtempSync(join(tmpdir(), 'edge-workers-on-demand-'))}
acme:
  ca: "${pebble.directory}"
  ca_root: ${pebble.listenerRootFile}
  preflight: false
  on_demand: { ask: "${ask.url}", burst: 5, interval: 1h }
sites:
  - hosts: ["*"]
    tls: on_demand
    routes: [{ proxy: { to: ${up.address} } }]
`);
    const edge = await startEdge(['run', '-c', file], { port: ports.http, startMs: 60_000 });
    try {
      const root = await pebble.issuingRoot();
      // the first handshakes, on both workers at once, wait for the one certificate
      const first = await Promise.all(Array.from({ length: 4 }, (_, i) => httpsGet(ports.https, 'yes-w.customer.net', `/${i}`, root)));
      assert.deepEqual(first.map((a) => a.text), Array(4).fill('app for yes-w.customer.net'));
      for (let i = 0; i < HANDSHAKES; i++) assert.equal((await httpsGet(ports.https, 'yes-w.customer.net', '/', root)).status, 200);
      const log = logMessages(edge.stderr());
      assert.equal(log.match(/certificate yes-w\.customer\.net: ordering/g)?.length, 1, log);
      assert.deepEqual(asked, ['yes-w.customer.net']);
      for (let i = 0; i < 4; i++) await assert.rejects(httpsGet(ports.https, 'no-w.customer.net', '/', root), /socket disconnected|ECONNRESET|alert/i);
      assert.doesNotMatch(logMessages(edge.stderr()), /certificate no-w\.customer\.net/);
      // the refusal is remembered where the asking is done, for both workers
      assert.deepEqual(asked, ['yes-w.customer.net', 'no-w.customer.net']);
    } finally {
      await edge.stop();
      await up.close();
      await pebble.stop();
      ask.close();
    }
  });
});
