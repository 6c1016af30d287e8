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
import { connect } from 'node:net';
import { freePort, startEdge, type EdgeProcess } from '../helpers/edge.ts';
import { startUpstream, type Upstream } from '../helpers/upstream.ts';
import { writeConfig } from '../helpers/config.ts';

const HEAD = 'GET /slow HTTP/1.1\r\nHost: test.example\r\nX-Slow: ' + 'a'.repeat(200);

/**
 * Sends HEAD a byte every `every` ms from connect; resolves with the ms from the first byte to
 * the connection's close, and what came back.
 */
function trickle(port: number, every: number): Promise<{ ms: number; reply: string }> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1');
    let reply = '';
    let start = 0;
    let i = 0;
    let timer: NodeJS.Timeout | undefined;
    s.on('connect', () => {
      start = performance.now();
      const send = () => {
        if (s.destroyed || s.writableEnded) return;
        s.write(HEAD[i++ % HEAD.length]!);
        timer = setTimeout(send, every);
      };
      send();
    });
    s.on('data', (d: Buffer) => (reply += d.toString('latin1')));
    // edge may reset while a byte is in flight: the close still times the end
    s.on('error', () => {});
    s.on('close', () => {
      clearTimeout(timer);
      if (start === 0) reject(new Error('no connection'));
      else resolve({ ms: performance.now() - start, reply });
    });
  });
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
