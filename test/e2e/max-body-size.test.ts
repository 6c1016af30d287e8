// The body limit from the one-liner (--max-body-size; the 10 MiB default could only be raised in a
// config file), and the 413's log line: it names both the key and the flag, and the site's name
// over HTTP/2 too (it read "on undefined", as HTTP/2 has no Host header).

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect as h2connect } from 'node:http2';
import { connect as tlsConnect } from 'node:tls';
import { freePort, runEdge, startEdge, waitFor } from '../helpers/edge.ts';
import { startUpstream } from '../helpers/upstream.ts';
import { fetchRaw } from '../helpers/http.ts';
import { writeTree } from '../helpers/files.ts';

const MiB = 1024 * 1024;

function countingApp() {
  return startUpstream((req, res) => {
    let n = 0;
    req.on('data', (c: Buffer) => (n += c.length));
    req.on('end', () => res.end(`got ${n}`));
  });
}

describe('--max-body-size', () => {
  it('the one-liner can raise the 10 MiB body limit (--max-body-size 20MB lets 12 MiB through)', async () => {
    const up = await countingApp();
    const edge = await startEdge(['--domain', 'test.example', '--to', up.address, '--http-port', '{port}', '--tls', 'off', '--bind', '127.0.0.1', '--admin', 'off', '--max-body-size', '20MB']);
    try {
      const a = await fetchRaw(edge.port, '/upload', { method: 'POST', body: Buffer.alloc(12 * MiB) });
      assert.equal(a.status, 200);
      assert.equal(a.text, `got ${12 * MiB}`);
      // announced with Expect: 100-continue, so the 413 comes before any body is sent (no EPIPE)
      const b = await fetchRaw(edge.port, '/upload', { method: 'POST', headers: { 'content-length': String(21 * 1000 * 1000), expect: '100-continue' } });
      assert.equal(b.status, 413);
      await waitFor(() => /413 POST \/upload on test\.example: .* \(max_body_size \/ --max-body-size\)/.test(edge.stderr()), () => `a 413 line naming the key and the flag:\n${edge.stderr()}`);
    } finally {
      await edge.stop();
      await up.close();
    }
  });

  it('a bad --max-body-size is one line naming the flag, exit 1', async () => {
    const r = await runEdge(['check', '--domain', 'test.example', '--tls', 'off', '--max-body-size', 'lots']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^--max-body-size: bad size "lots"/m);
  });

  it('--max-body-size goes with --domain: with -c it is refused, not ignored', async () => {
    const r = await runEdge(['check', '-c', 'conf/edge.yaml', '--max-body-size', '1MB']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /--max-body-size goes with --domain/);
  });

  it('an HTTP/2 413 is logged with the site\'s name, not "on undefined"', async () => {
    const up = await countingApp();
    const https = await freePort();
    const storage = join(writeTree({ 'x/': { dir: true } }), 'certs');
    const edge = await startEdge(['--domain', 'localhost', '--to', up.address, '--http-port', '{port}', '--https-port', String(https), '--tls', 'internal',
      '--storage', storage, '--bind', '127.0.0.1', '--admin', 'off', '--max-body-size', '1KiB']);
    try {
      await waitFor(() => edge.stderr().includes('certificate localhost: issued'), 'the local certificate', 15_000);
      const ca = readFileSync(join(storage, 'local', 'root.crt'), 'utf8');
      const session = h2connect(`https://localhost:${https}`, {
        createConnection: () => tlsConnect({ host: '127.0.0.1', port: https, servername: 'localhost', ca, ALPNProtocols: ['h2'] }),
      });
      session.on('error', () => {});
      try {
        const status = await new Promise<number>((resolve, reject) => {
          const stream = session.request({ ':method': 'POST', ':path': '/upload', 'content-length': '5000' });
          stream.on('response', (h) => resolve(Number(h[':status'])));
          stream.on('error', reject);
          stream.end(Buffer.alloc(5000));
        });
        assert.equal(status, 413);
      } finally {
        session.close();
      }
      await waitFor(() => /413 POST \/upload on localhost(:\d+)?: /.test(edge.stderr()), () => `a 413 line naming the site:\n${edge.stderr()}`);
      assert.doesNotMatch(edge.stderr(), /on undefined/);
    } finally {
      await edge.stop();
      await up.close();
    }
  });
});
