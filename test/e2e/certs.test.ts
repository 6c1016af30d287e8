// `edge certs list` and `edge certs renew NAME` as real commands, against a running edge (through
// its admin endpoint) with a certificate from a real Pebble, and against storage when edge is stopped.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, runEdge, startEdge, waitFor, type EdgeProcess, logMessages } from '../helpers/edge.ts';
import { startUpstream, type Upstream } from '../helpers/upstream.ts';
import { writeConfig } from '../helpers/config.ts';
import { startPebble, type Pebble } from '../helpers/pebble.ts';
import { servedSerial } from '../helpers/tls-client.ts';
import { fetchRaw } from '../helpers/http.ts';

const NAME = 'certs.edge-e2e.net';

describe('edge certs', () => {
  let pebble: Pebble;
  let up: Upstream;
  let edge: EdgeProcess;
  let file: string;
  let root: string;
  let adminPort: number;
  const ports = { http: 0, https: 0 };
  before(async () => {
    ports.http = await freePort();
    ports.https = await freePort();
    adminPort = await freePort();
    pebble = await startPebble({ httpPort: ports.http, tlsPort: ports.https });
    up = await startUpstream((_req, res) => res.end('ok'));
    const storage = mkdtempSync(join(tmpdir(), 'edge-certs-'));
    ({ file } = writeConfig(`
http_port: ${ports.http}
https_port: ${ports.https}
bind: 127.0.0.1
admin: 127.0.0.1:${adminPort}
storage: ${storage}
acme: { ca: "${pebble.directory}", ca_root: ${pebble.listenerRootFile}, preflight: false }
sites:
  - hosts: [${NAME}]
    routes: [{ proxy: { to: ${up.address} } }]
  - hosts: [dev.localhost]
    routes: [{ proxy: { to: ${up.address} } }]
`));
    edge = await startEdge(['run', '-c', file], { port: ports.http });
    await waitFor(() => logMessages(edge.stderr()).includes(`certificate ${NAME}: issued`) && logMessages(edge.stderr()).includes('certificate dev.localhost: issued'), 'certificates', 30_000);
    root = await pebble.issuingRoot();
  });
  after(async () => {
    await edge.stop();
    await up.close();
    await pebble.stop();
  });

  it('lists every certificate of the running edge: source, issuer, expiry, renewal time, and the local root', async () => {
    const r = await runEdge(['certs', 'list', '-c', file]);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.split('\n');
    assert.match(lines[0]!, new RegExp(`^from running edge pid ${edge.proc.pid} \\(.*edge\\.yaml\\) at http://127\\.0\\.0\\.1:${adminPort}$`));
    assert.match(lines[1]!, /^NAME\s+SOURCE\s+ISSUER\s+NOT AFTER\s+RENEWS AT\s+LAST ERROR$/);
    assert.match(r.stdout, new RegExp(`${NAME.replaceAll('.', '\\.')}\\s+acme\\s+Pebble Intermediate CA \\w+\\s+\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d UTC\\s+\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d UTC\\s+-`));
    assert.match(r.stdout, /dev\.localhost\s+local\s+edge Local CA - \d{4}/);
    assert.match(r.stdout, /local CA root: .*\/local\/root\.crt/);
  });

  it('renews a certificate on demand: a new one is served at once', async () => {
    const before = await servedSerial(ports.https, NAME, root);
    const r = await runEdge(['certs', 'renew', NAME, '-c', file]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`^renewing ${NAME.replaceAll('.', '\\.')} through edge pid ${edge.proc.pid} \\(.*\\) at http://127\\.0\\.0\\.1:${adminPort}\\.\\.\\.\\n${NAME.replaceAll('.', '\\.')}: new certificate from Pebble Intermediate CA \\w+, valid until \\S+\\n$`));
    assert.notEqual(await servedSerial(ports.https, NAME, root), before);
  });

  it('refuses to renew a name it does not manage, and keeps the admin endpoint off non-loopback Host names', async () => {
    const r = await runEdge(['certs', 'renew', 'unknown.example.net', '-c', file]);
    assert.equal(r.code, 1);
    assert.equal(r.stderr, 'edge: renewal of unknown.example.net failed: edge does not manage a certificate for "unknown.example.net"\n');
    const rebound = await fetchRaw(adminPort, '/certs', { headers: { host: 'evil.example:2019' } });
    assert.equal(rebound.status, 403);
  });

  it('lists from storage when edge is stopped, and says renew needs it running', async () => {
    await edge.stop();
    const list = await runEdge(['certs', 'list', '-c', file]);
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, /^from storage .* \(edge is not running\)\n/);
    assert.match(list.stdout, new RegExp(`${NAME.replaceAll('.', '\\.')}\\s+acme\\s+Pebble Intermediate CA`));
    const renew = await runEdge(['certs', 'renew', NAME, '-c', file]);
    assert.equal(renew.code, 1);
    assert.equal(renew.stderr, `edge: no running edge answers at http://127.0.0.1:${adminPort}: start it first (it answers the CA's challenges)\n`);
  });
});
