// On-demand TLS against a real Pebble: a handshake for a name the ask endpoint approves gets a
// certificate on the spot; refused names, names past the rate limit and unknown sites fail the
// handshake; answers are cached, so the ask endpoint hears each name once.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, startEdge, type EdgeProcess, logMessages } from '../helpers/edge.ts';
import { startUpstream, type Upstream } from '../helpers/upstream.ts';
import { writeConfig } from '../helpers/config.ts';
import { startPebble, type Pebble } from '../helpers/pebble.ts';
import { httpsGet } from '../helpers/tls-client.ts';
import { startAskServer, type AskServer } from '../helpers/ask.ts';

describe('on-demand TLS', () => {
  let pebble: Pebble;
  let up: Upstream;
  let edge: EdgeProcess;
  let ask: AskServer;
  let asked: string[];
  let root: string;
  const ports = { http: 0, https: 0 };
  before(async () => {
    ports.http = await freePort();
    ports.https = await freePort();
    pebble = await startPebble({ httpPort: ports.http, tlsPort: ports.https });
    up = await startUpstream((req, res) => res.end(`app for ${req.headers.host}`));
    ask = await startAskServer();
    asked = ask.asked;
    const { file } = writeConfig(`
http_port: ${ports.http}
https_port: ${ports.https}
bind: 127.0.0.1
admin: off
storage: ${mkdtempSync(join(tmpdir(), 'edge-certs-'))}
acme:
  ca: "${pebble.directory}"
  ca_root: ${pebble.listenerRootFile}
  preflight: false
  on_demand: { ask: "${ask.url}", burst: 2, interval: 1h }
sites:
  - hosts: ["*"]
    tls: on_demand
    routes: [{ proxy: { to: ${up.address} } }]
`);
    edge = await startEdge(['run', '-c', file], { port: ports.http });
    root = await pebble.issuingRoot();
  });
  after(async () => {
    await edge.stop();
    await up.close();
    await pebble.stop();
    ask.close();
  });

  it('obtains a certificate during the first handshake for an approved name', async () => {
    const a = await httpsGet(ports.https, 'yes-1.customer.net', '/', root);
    assert.equal(a.status, 200);
    assert.equal(a.text, 'app for yes-1.customer.net');
    assert.match(logMessages(edge.stderr()), /certificate yes-1\.customer\.net: issued by Pebble Intermediate CA/);
    // the second handshake uses the certificate it has, and does not ask again
    assert.equal((await httpsGet(ports.https, 'yes-1.customer.net', '/again', root)).status, 200);
    assert.deepEqual(asked, ['yes-1.customer.net']);
  });

  it('fails the handshake for a name the ask endpoint refuses, and remembers the answer', async () => {
    await assert.rejects(httpsGet(ports.https, 'no-1.customer.net', '/', root), /socket disconnected|ECONNRESET|alert/i);
    await assert.rejects(httpsGet(ports.https, 'no-1.customer.net', '/', root), /socket disconnected|ECONNRESET|alert/i);
    assert.equal(asked.filter((n) => n === 'no-1.customer.net').length, 1);
    assert.doesNotMatch(logMessages(edge.stderr()), /certificate no-1\.customer\.net/);
  });

  it('stops at the rate limit even for approved names', async () => {
    assert.equal((await httpsGet(ports.https, 'yes-2.customer.net', '/', root)).status, 200);
    await assert.rejects(httpsGet(ports.https, 'yes-3.customer.net', '/', root), /socket disconnected|ECONNRESET|alert/i);
    assert.doesNotMatch(logMessages(edge.stderr()), /certificate yes-3\.customer\.net: ordering/);
  });

  it('never asks about names that are not DNS names', async () => {
    const before = asked.length;
    await assert.rejects(httpsGet(ports.https, 'bad_name.customer.net', '/', root), /socket disconnected|ECONNRESET|alert|ERR_INVALID/i);
    assert.equal(asked.length, before);
  });
});
