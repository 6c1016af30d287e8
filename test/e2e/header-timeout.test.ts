// header_timeout is a deadline from the request's first byte, kept to within a second as nginx
// keeps client_header_timeout: a head trickled in a byte at a time gets its 408 at the deadline,
// not up to half the timeout later (8 s configured once fired at 12 s).
//
// These are timed assertions, so they live here and not in the unit tests, with bounds chosen to
// hold on a loaded machine: edge is never early (Node compares against the first byte's arrival,
// which comes after the test's clock starts), and the upper bound leaves 500-750 ms over edge's
// worst case, while the event loops of an idle edge and of this test wait on nothing else.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { connect as tlsConnect } from 'node:tls';
import { freePort, startEdge, waitFor, type EdgeProcess } from '../helpers/edge.ts';
import { startUpstream, type Upstream } from '../helpers/upstream.ts';
import { writeConfig } from '../helpers/config.ts';
import { writeTree } from '../helpers/files.ts';

const HEAD = 'GET /slow HTTP/1.1\r\nHost: test.example\r\nX-Slow: ' + 'a'.repeat(200);

/**
 * Sends HEAD a byte every `every` ms on a connected socket; resolves with the ms from the first
 * byte to the connection's close, and what came back.
 */
function trickleOn(s: Duplex, every: number): Promise<{ ms: number; reply: string }> {
  return new Promise((resolve) => {
    let reply = '';
    let i = 0;
    let timer: NodeJS.Timeout | undefined;
    const start = performance.now();
    const send = () => {
      if (s.destroyed || s.writableEnded) return;
      s.write(HEAD[i++ % HEAD.length]!);
      timer = setTimeout(send, every);
    };
    s.on('data', (d: Buffer) => (reply += d.toString('latin1')));
    // edge may reset while a byte is in flight: the close still times the end
    s.on('error', () => {});
    s.on('close', () => {
      clearTimeout(timer);
      resolve({ ms: performance.now() - start, reply });
    });
    send();
  });
}

async function trickle(port: number, every: number): Promise<{ ms: number; reply: string }> {
  const s = connect(port, '127.0.0.1');
  await new Promise((resolve, reject) => s.once('connect', resolve).once('error', reject));
  return trickleOn(s, every);
}

async function edgeWith(up: Upstream, timeout: string): Promise<EdgeProcess> {
  const port = await freePort();
  const { file } = writeConfig(`
http_port: ${port}
bind: 127.0.0.1
admin: off
limits: { header_timeout: ${timeout} }
sites:
  - hosts: [test.example]
    tls: off
    routes:
      - match: /
        proxy: { to: ${up.address} }
`);
  return startEdge(['run', '-c', file], { port });
}

describe('header_timeout', () => {
  let up: Upstream;
  const edges: EdgeProcess[] = [];

  before(async () => {
    up = await startUpstream((_req, res) => res.end('never'));
  });
  after(async () => {
    for (const e of edges) await e.stop();
    await up?.close();
  });

  it('2 s: a head sent a byte every 300 ms gets 408 and a close between 2 and 3 s after its first byte', async () => {
    const edge = await edgeWith(up, '2s');
    edges.push(edge);
    const { ms, reply } = await trickle(edge.port, 300);
    assert.match(reply, /^HTTP\/1.1 408 /);
    assert.ok(ms >= 1950 && ms < 3000, `closed after ${Math.round(ms)} ms`);
  });

  // Node checks its deadline on a sweep whose phase is fixed when edge starts listening, so one
  // connection may happen to land just before a sweep; six started 400 ms apart cover a whole 2 s
  // period of the old sweep (half of 4 s), and some of them were always over a second late.
  it('4 s: six heads started across a sweep period each get 408 within a second of their deadline', async () => {
    const edge = await edgeWith(up, '4s');
    edges.push(edge);
    const runs: Promise<{ ms: number; reply: string }>[] = [];
    for (let n = 0; n < 6; n++) {
      runs.push(trickle(edge.port, 300));
      await new Promise((r) => setTimeout(r, 400));
    }
    const results = await Promise.all(runs);
    const times = results.map((r) => Math.round(r.ms));
    for (const r of results) assert.match(r.reply, /^HTTP\/1.1 408 /);
    assert.ok(times.every((ms) => ms >= 3950 && ms < 5000), `closed after ${times.join(', ')} ms`);
    assert.equal(up.requests.length, 0);
  });
});

// HTTP/1.1 over TLS: the HTTPS listener's server gets its connections from the front TCP server,
// so Node never timed its heads at all (a head could take forever); the same deadline holds there.
describe('header_timeout over HTTPS (HTTP/1.1)', () => {
  it('2 s: a head sent a byte every 300 ms over TLS gets 408 and a close between 2 and 3 s', async () => {
    const [http, https] = [await freePort(), await freePort()];
    const storage = join(writeTree({ 'x/': { dir: true } }), 'certs');
    const { file } = writeConfig(`
http_port: ${http}
https_port: ${https}
bind: 127.0.0.1
admin: off
storage: ${storage}
limits: { header_timeout: 2s }
sites:
  - hosts: [localhost]
    tls: internal
    routes:
      - respond: { status: 200, body: ok }
`);
    const edge = await startEdge(['run', '-c', file], { port: http, startMs: 30_000 });
    try {
      await waitFor(() => edge.stderr().includes('certificate localhost: issued'), 'the local certificate', 15_000);
      const ca = readFileSync(join(storage, 'local', 'root.crt'), 'utf8');
      const s = tlsConnect({ host: '127.0.0.1', port: https, servername: 'localhost', ca, ALPNProtocols: ['http/1.1'] });
      await new Promise((resolve, reject) => s.once('secureConnect', resolve).once('error', reject));
      const { ms, reply } = await trickleOn(s, 300);
      assert.match(reply, /^HTTP\/1.1 408 /);
      assert.ok(ms >= 1950 && ms < 3000, `closed after ${Math.round(ms)} ms`);
    } finally {
      await edge.stop();
    }
  });
});
