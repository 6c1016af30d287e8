// proxy_protocol: a PROXY header (v1, v2) from a trusted balancer names the client for the app
// and the log, over HTTP and HTTPS; from an untrusted address, or malformed, the connection is closed.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { freePort, logMessages, runEdge, startEdge, waitFor, type EdgeProcess } from '../helpers/edge.ts';
import { startUpstream, type Upstream } from '../helpers/upstream.ts';
import { writeConfig } from '../helpers/config.ts';

const REQUEST = 'GET /pp HTTP/1.1\r\nHost: test.example\r\nConnection: close\r\n\r\n';

/** Everything the server sends until it closes (or '' when it closes at once). */
function exchange(port: number, bytes: Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket: Socket = connect(port, '127.0.0.1');
    let got = '';
    socket.on('data', (d) => (got += d));
    socket.on('error', (err: NodeJS.ErrnoException) => (err.code === 'ECONNRESET' ? resolve(got) : reject(err)));
    socket.on('close', () => resolve(got));
    socket.setTimeout(8000, () => socket.destroy(new Error('no answer')));
    socket.write(bytes);
  });
}

function v2(source: number[], destination = [127, 0, 0, 1]): Buffer {
  const head = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a, 0x21, 0x11, 0x00, 12]);
  return Buffer.concat([head, Buffer.from(source), Buffer.from(destination), Buffer.from([0x15, 0xb3, 0x00, 0x50])]);
}

async function edgeWith(trusted: string, up: Upstream): Promise<EdgeProcess> {
  const port = await freePort();
  const httpsPort = await freePort();
  const { file } = writeConfig(`
http_port: ${port}
https_port: ${httpsPort}
bind: 127.0.0.1
admin: off
storage: ${mkdtempSync(join(tmpdir(), 'edge-pp-'))}
trusted_proxies: ${trusted}
proxy_protocol: true
sites:
  - hosts: [test.example]
    tls: off
    routes:
      - proxy: { to: ${up.address} }
  - hosts: [localhost]
    tls: internal
    routes:
      - proxy: { to: ${up.address} }
`);
  const edge = await startEdge(['run', '-c', file], { port });
  return Object.assign(edge, { httpsPort });
}

describe('proxy_protocol', () => {
  let up: Upstream;
  before(async () => {
    up = await startUpstream((req, res) => res.end(`${req.headers['x-real-ip']}|${req.headers['x-forwarded-for']}`));
  });
  after(() => up.close());

  it('from a trusted balancer, v1 and v2 name the client (header and request in one segment)', async () => {
    const edge = await edgeWith('[127.0.0.1]', up);
    try {
      const a = await exchange(edge.port, Buffer.from(`PROXY TCP4 198.51.100.4 127.0.0.1 5555 80\r\n${REQUEST}`));
      assert.match(a, /^HTTP\/1\.1 200 /);
      assert.match(a, /\r\n\r\n198\.51\.100\.4\|198\.51\.100\.4$/);
      const b = await exchange(edge.port, Buffer.concat([v2([203, 0, 113, 9]), Buffer.from(REQUEST)]));
      assert.match(b, /\r\n\r\n203\.0\.113\.9\|203\.0\.113\.9$/);
      const c = await exchange(edge.port, Buffer.from(`PROXY TCP6 2001:db8::7 ::1 5555 80\r\n${REQUEST}`));
      assert.match(c, /\r\n\r\n2001:db8::7\|2001:db8::7$/);
      await waitFor(() => /^198\.51\.100\.4 - - .*"GET \/pp /m.test(edge.stdout()), () => `a log line from 198.51.100.4:\n${edge.stdout()}`);
    } finally {
      await edge.stop();
    }
  });

  it('over HTTPS too: the header comes before the TLS handshake', async () => {
    const edge = await edgeWith('[127.0.0.1]', up) as EdgeProcess & { httpsPort: number };
    try {
      // the local CA issues localhost's certificate just after the banner: a handshake before it has none
      await waitFor(() => logMessages(edge.stderr()).includes('certificate localhost: issued'), 'the local certificate', 30_000);
      const text = await new Promise<string>((resolve, reject) => {
        const raw = connect(edge.httpsPort, '127.0.0.1', () => {
          raw.write('PROXY TCP4 198.51.100.5 127.0.0.1 5555 443\r\n');
          const tls = tlsConnect({ socket: raw, servername: 'localhost', rejectUnauthorized: false }, () => tls.write(REQUEST.replace('test.example', 'localhost')));
          let got = '';
          tls.on('data', (d) => (got += d));
          tls.on('end', () => resolve(got));
          tls.on('error', reject);
        });
        raw.on('error', reject);
      });
      assert.match(text, /\r\n\r\n198\.51\.100\.5\|198\.51\.100\.5$/);
    } finally {
      await edge.stop();
    }
  });

  it('from an untrusted address the PROXY header is not believed: the connection is closed unanswered', async () => {
    const edge = await edgeWith('[10.0.0.0/8]', up);
    try {
      const before = up.requests.length;
      assert.equal(await exchange(edge.port, Buffer.from(`PROXY TCP4 198.51.100.4 127.0.0.1 5555 80\r\n${REQUEST}`)), '');
      assert.equal(await exchange(edge.port, Buffer.from(REQUEST)), '', 'nor without a header');
      assert.equal(up.requests.length, before);
    } finally {
      await edge.stop();
    }
  });

  it('a trusted peer without a valid header is closed too', async () => {
    const edge = await edgeWith('[127.0.0.1]', up);
    try {
      assert.equal(await exchange(edge.port, Buffer.from(REQUEST)), '');
      assert.equal(await exchange(edge.port, Buffer.from(`PROXY TCP4 not-an-ip 127.0.0.1 1 2\r\n${REQUEST}`)), '');
    } finally {
      await edge.stop();
    }
  });

  it('edge check: proxy_protocol without trusted_proxies', async () => {
    const { file } = writeConfig('proxy_protocol: true\nsites: []\n');
    const r = await runEdge(['check', '-c', file]);
    assert.equal(r.code, 1);
    assert.equal(r.stderr.trim(), `${file}:1:17: proxy_protocol: proxy_protocol takes connections from trusted_proxies only: list the balancer's addresses there`);
  });
});
