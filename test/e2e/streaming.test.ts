// Bodies stream through edge in both directions: 1 GiB each way at flat memory, bytes compared by
// hash, and server-sent events delivered as they are written, not when the response ends.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { Readable } from 'node:stream';
import { freePort, startEdge, type EdgeProcess } from '../helpers/edge.ts';
import { startUpstream, type Upstream } from '../helpers/upstream.ts';
import { writeConfig } from '../helpers/config.ts';

const MiB = 1024 * 1024;
// Node frees socket buffers at GC, which V8 runs after tens of MiB of them: a first transfer well
// past that reaches the plateau; growing with size would add hundreds of MiB over 1 GiB.
const WARM_UP_MIB = 128;
const SLACK = 64 * MiB;
const BLOCK = randomBytes(MiB);

/** `mib` MiB of data: one random MiB repeated, each copy stamped with its index so order matters. */
function payload(mib: number): Readable {
  let i = 0;
  return new Readable({
    read() {
      if (i === mib) {
        this.push(null);
        return;
      }
      const block = Buffer.from(BLOCK);
      block.writeUInt32BE(i++, 0);
      this.push(block);
    },
  });
}

async function hashOf(stream: Readable): Promise<{ sha: string; bytes: number }> {
  const h = createHash('sha256');
  let bytes = 0;
  for await (const chunk of stream) {
    h.update(chunk as Buffer);
    bytes += (chunk as Buffer).length;
  }
  return { sha: h.digest('hex'), bytes };
}

function transfer(port: number, method: string, path: string, body?: Readable): Promise<{ status: number; sha: string; bytes: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, headers: { host: 'test.example' }, agent: false }, async (res) => {
      if (path.startsWith('/download')) {
        resolve({ status: res.statusCode!, ...(await hashOf(res)), text: '' });
      } else {
        let text = '';
        for await (const c of res) text += c;
        resolve({ status: res.statusCode!, sha: '', bytes: 0, text });
      }
    });
    req.on('error', reject);
    if (body) body.pipe(req);
    else req.end();
  });
}

describe('streaming bodies', () => {
  let up: Upstream;
  let edge: EdgeProcess;
  before(async () => {
    up = await startUpstream(async (req, res) => {
      if (req.url!.startsWith('/upload')) {
        const { sha, bytes } = await hashOf(req);
        res.end(JSON.stringify({ sha, bytes }));
      } else if (req.url!.startsWith('/download/')) {
        res.writeHead(200, { 'content-type': 'application/octet-stream' });
        payload(Number(req.url!.split('/')[2])).pipe(res);
      }
    }, { unix: true });
    const port = await freePort();
    const { file } = writeConfig(`
http_port: ${port}
bind: 127.0.0.1
log: { access: off }
limits: { max_body_size: 2GiB }
sites:
  - hosts: [test.example]
    tls: off
    routes:
      - proxy: { to: ${up.address} }
`);
    edge = await startEdge(['run', '-c', file], { port });
  });
  after(async () => {
    await edge.stop();
    await up.close();
  });

  it('uploads 1 GiB streamed (chunked) byte-exact at flat memory', async () => {
    const small = await transfer(edge.port, 'POST', '/upload', payload(WARM_UP_MIB));
    assert.equal(JSON.parse(small.text).bytes, WARM_UP_MIB * MiB);
    const baseline = edge.memory().peak;
    const expected = await hashOf(payload(1024));
    const big = await transfer(edge.port, 'POST', '/upload', payload(1024));
    assert.equal(big.status, 200);
    assert.deepEqual(JSON.parse(big.text), { sha: expected.sha, bytes: 1024 * MiB });
    const growth = edge.memory().peak - baseline;
    assert.ok(growth < SLACK, `peak RSS grew by ${(growth / MiB).toFixed(1)} MiB over a 1 GiB upload`);
  });

  it('downloads 1 GiB byte-exact at flat memory', async () => {
    await transfer(edge.port, 'GET', `/download/${WARM_UP_MIB}`);
    const baseline = edge.memory().peak;
    const expected = await hashOf(payload(1024));
    const big = await transfer(edge.port, 'GET', '/download/1024');
    assert.equal(big.status, 200);
    assert.equal(big.bytes, 1024 * MiB);
    assert.equal(big.sha, expected.sha);
    const growth = edge.memory().peak - baseline;
    assert.ok(growth < SLACK, `peak RSS grew by ${(growth / MiB).toFixed(1)} MiB over a 1 GiB download`);
  });
});

describe('server-sent events', () => {
  it('arrive one by one while the response is still open', async () => {
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => (release = r));
    const up = await startUpstream(async (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      res.write('data: first\n\n');
      await gate; // the second event waits until the client has seen the first
      res.end('data: second\n\n');
    });
    const edge = await startEdge(['--domain', 'test.example', '--to', up.address, '--http-port', '{port}', '--tls', 'off', '--bind', '127.0.0.1', '--access-log', 'off']);
    try {
      // a buffering edge holds the first event until the upstream ends, which it never does before
      // the client has seen it: fail after a bound instead of waiting for the test's timeout
      const BOUND_MS = 15_000;
      const { status, type, early, all } = await new Promise<{ status: number; type: unknown; early: string; all: string }>((resolve, reject) => {
        let seen = '';
        let early: string | undefined;
        const req = request({ host: '127.0.0.1', port: edge.port, path: '/events', headers: { host: 'test.example', accept: 'text/event-stream' }, agent: false }, (res) => {
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => {
            seen += chunk;
            if (early === undefined && seen.includes('first\n\n')) {
              early = seen;
              clearTimeout(timer);
              timer = setTimeout(() => fail('the response did not end after the last event'), BOUND_MS);
              release();
            }
          });
          res.on('end', () => {
            clearTimeout(timer);
            resolve({ status: res.statusCode!, type: res.headers['content-type'], early: early ?? '', all: seen });
          });
          res.on('error', reject);
        });
        const fail = (why: string) => {
          req.destroy();
          reject(new Error(`${why} in ${BOUND_MS / 1000} s; the client got ${JSON.stringify(seen)}`));
        };
        let timer = setTimeout(() => fail('the first event did not reach the client while the upstream kept the response open (edge buffers it)'), BOUND_MS);
        req.on('error', reject);
        req.end();
      });
      assert.equal(status, 200);
      assert.equal(type, 'text/event-stream');
      assert.equal(early, 'data: first\n\n', 'the first event alone, before the upstream sent the second');
      assert.equal(all, 'data: first\n\ndata: second\n\n');
    } finally {
      release();
      await edge.stop();
      await up.close();
    }
  });
});
