// Automatic HTTPS against a real Pebble: certificates by HTTP-01 and by TLS-ALPN-01, served over
// HTTP/2 and HTTP/1.1 to a Unix-socket upstream and verified against Pebble's issuing root;
// plain HTTP redirected; a restart reusing the stored certificate without a new order.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, startEdge, waitFor, type EdgeProcess, logMessages } from '../helpers/edge.ts';
import { startUpstream, type Upstream } from '../helpers/upstream.ts';
import { writeConfig } from '../helpers/config.ts';
import { fetchRaw } from '../helpers/http.ts';
import { startPebble, type Pebble } from '../helpers/pebble.ts';
import { h2Get, httpsGet, servedSerial } from '../helpers/tls-client.ts';

const NAME = 'www.edge-e2e.net';

async function edgeFor(pebble: Pebble, ports: { http: number; https: number }, up: Upstream, storage: string, challenges: string): Promise<EdgeProcess> {
  const { file } = writeConfig(`
http_port: ${ports.http}
https_port: ${ports.https}
bind: 127.0.0.1
storage: ${storage}
acme:
  ca: ${pebble.directory}
  ca_root: ${pebble.listenerRootFile}
  challenges: [${challenges}]
  preflight: false
sites:
  - hosts: [${NAME}]
    routes:
      - proxy: { to: ${up.address} }
`);
  return startEdge(['run', '-c', file], { port: ports.http });
}

for (const challenge of ['http-01', 'tls-alpn-01']) {
  describe(`a certificate from Pebble by ${challenge}`, () => {
    let pebble: Pebble;
    let up: Upstream;
    let edge: EdgeProcess;
    let root: string;
    const ports = { http: 0, https: 0 };
    const storage = mkdtempSync(join(tmpdir(), 'edge-certs-'));
    before(async () => {
      ports.http = await freePort();
      ports.https = await freePort();
      pebble = await startPebble({ httpPort: ports.http, tlsPort: ports.https });
      up = await startUpstream((req, res) => res.end(`app: ${req.url} via ${req.headers['x-forwarded-proto']}`), { unix: true });
      edge = await edgeFor(pebble, ports, up, storage, challenge);
      await waitFor(() => /certificate www\.edge-e2e\.net: issued by .* in [\d.]+ s/.test(logMessages(edge.stderr())), 'certificate issued', 30_000);
      root = await pebble.issuingRoot();
    });
    after(async () => {
      await edge?.stop();
      await up?.close();
      await pebble?.stop();
    });

    it('logs its progress: ordering, validating, issued', () => {
      const lines = logMessages(edge.stderr()).split('\n').filter((l) => l.includes(`certificate ${NAME}`));
      assert.match(lines[0]!, new RegExp(`ordering \\(${challenge}\\)`));
      assert.ok(lines.some((l) => l.endsWith('validating')));
      assert.match(lines.at(-1)!, /issued by Pebble Intermediate CA [0-9a-f]+ in [\d.]+ s, valid until /);
    });

    it('serves HTTPS over HTTP/2 and HTTP/1.1, verified against Pebble\'s root, to the Unix-socket upstream', async () => {
      const h2 = await h2Get(ports.https, NAME, '/h2', root);
      assert.equal(h2.alpn, 'h2');
      assert.equal(h2.status, 200);
      assert.equal(h2.text, 'app: /h2 via https');
      assert.equal(h2.headers['strict-transport-security'], 'max-age=31536000');
      const h1 = await httpsGet(ports.https, NAME, '/h1', root);
      assert.equal(h1.text, 'app: /h1 via https');
    });

    it('redirects plain HTTP to HTTPS, host and path kept', async () => {
      const a = await fetchRaw(ports.http, '/some/path?q=1', { headers: { host: NAME } });
      assert.equal(a.status, 308);
      assert.equal(a.headers.location, `https://${NAME}:${ports.https}/some/path?q=1`);
    });

    it('fails the handshake for a name it does not serve, and answers 421 to a Host that is not the SNI site', async () => {
      await assert.rejects(httpsGet(ports.https, 'other.edge-e2e.net', '/', root), /socket disconnected|alert|ECONNRESET/i);
      const misdirected = await new Promise<number>((resolve, reject) => {
        import('node:https').then(({ request }) => {
          const req = request({ host: '127.0.0.1', port: ports.https, servername: NAME, ca: root, headers: { host: 'elsewhere.example' }, agent: false }, (res) => {
            res.resume();
            resolve(res.statusCode!);
          });
          req.on('error', reject);
          req.end();
        }, reject);
      });
      assert.equal(misdirected, 421);
    });

    it('after a restart serves the stored certificate without ordering again', async () => {
      const serial = await servedSerial(ports.https, NAME, root);
      await edge.stop();
      edge = await edgeFor(pebble, ports, up, storage, challenge);
      assert.equal(await servedSerial(ports.https, NAME, root), serial);
      assert.doesNotMatch(logMessages(edge.stderr()), /ordering/);
    });
  });
}
