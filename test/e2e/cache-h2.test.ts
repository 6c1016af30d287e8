// The cache over HTTP/2 with compression on the same route: a miss streamed to an HTTP/2 stream,
// hits written to HTTP/2 streams (the stored head has no connection-specific fields), the key's
// scheme https, HEAD from the stored GET, and one stored copy compressed per client.

import { it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect as h2connect, type ClientHttp2Session } from 'node:http2';
import { connect as tlsConnect } from 'node:tls';
import { gunzipSync } from 'node:zlib';
import { freePort, startEdge, waitFor } from '../helpers/edge.ts';
import { startUpstream } from '../helpers/upstream.ts';
import { writeConfig } from '../helpers/config.ts';
import { writeTree } from '../helpers/files.ts';

const HTML = Buffer.from('<p>cached over HTTP/2, long enough to be compressed.</p>\n'.repeat(40));

function h2get(session: ClientHttp2Session, path: string, extra: Record<string, string> = {}): Promise<{ headers: Record<string, unknown>; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const stream = session.request({ ':path': path, ...extra });
    const chunks: Buffer[] = [];
    let headers: Record<string, unknown> = {};
    stream.on('response', (h) => (headers = h));
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => resolve({ headers, body: Buffer.concat(chunks) }));
    stream.on('error', reject);
  });
}

it('misses and hits on HTTP/2 streams, compressed per client from one stored copy', async () => {
  let n = 0;
  const up = await startUpstream((_req, res) => {
    n++;
    res.writeHead(200, { 'content-type': 'text/html', 'cache-control': 'max-age=600', 'content-length': HTML.length });
    res.end(HTML);
  });
  const [http, https, admin] = [await freePort(), await freePort(), await freePort()];
  const storage = join(writeTree({ 'x/': { dir: true } }), 'certs');
  const { file } = writeConfig(`
http_port: ${http}
https_port: ${https}
bind: 127.0.0.1
admin: 127.0.0.1:${admin}
storage: ${storage}
log: { access: off }
sites:
  - hosts: [localhost]
    tls: internal
    routes:
      - proxy: { to: ${up.address} }
        cache: {}
        compress: [gzip]
`);
  const edge = await startEdge(['run', '-c', file], { port: http });
  try {
    await waitFor(() => edge.stderr().includes('certificate localhost: issued'), 'the local certificate', 15_000);
    const ca = readFileSync(join(storage, 'local', 'root.crt'), 'utf8');
    const session = h2connect(`https://localhost:${https}`, {
      createConnection: () => tlsConnect({ host: '127.0.0.1', port: https, servername: 'localhost', ca, ALPNProtocols: ['h2'] }),
    });
    try {
      const miss = await h2get(session, '/page', { 'accept-encoding': 'gzip' });
      assert.equal(miss.headers[':status'], 200);
      assert.match(String(miss.headers['cache-status']), /fwd=uri-miss; fwd-status=200; stored/);
      assert.ok(gunzipSync(miss.body).equals(HTML));
      const hit = await h2get(session, '/page', { 'accept-encoding': 'gzip' });
      assert.match(String(hit.headers['cache-status']), /^edge; hit/);
      assert.equal(hit.headers['content-encoding'], 'gzip');
      assert.ok(gunzipSync(hit.body).equals(HTML));
      const plain = await h2get(session, '/page');
      assert.equal(plain.headers['content-encoding'], undefined);
      assert.ok(plain.body.equals(HTML));
      const head = await h2get(session, '/page', { ':method': 'HEAD' });
      assert.equal(head.headers[':status'], 200);
      assert.equal(head.body.length, 0);
      assert.equal(n, 1);
      // stored under https://
      const purge = await fetch(`http://127.0.0.1:${admin}/cache/purge?url=${encodeURIComponent('https://localhost/page')}`, { method: 'POST' });
      assert.equal((await purge.json() as { purged: number }).purged, 1);
    } finally {
      session.close();
    }
  } finally {
    await edge.stop();
    await up.close();
  }
});
