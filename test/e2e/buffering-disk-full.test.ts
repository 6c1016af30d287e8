// A temp folder that fills up: a 1 MiB tmpfs as buffering.temp_dir. An upload larger than it gets
// 507 and a log line naming the folder and ENOSPC, promptly (no hang), and the app never sees it;
// the space comes back, and an upload that fits goes through whole. A response larger than the
// folder, to a client that reads nothing for a while, is not cut: what the file holds is sent,
// the app paused meanwhile, and the rest follows unbuffered. Needs root to mount the tmpfs.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { request } from 'node:http';
import { mkdtempSync, rmSync, statfsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, logMessages, startEdge, waitFor, type EdgeProcess } from '../helpers/edge.ts';
import { startUpstream, type Upstream } from '../helpers/upstream.ts';
import { fetchRaw } from '../helpers/http.ts';
import { writeConfig } from '../helpers/config.ts';

const MiB = 1024 * 1024;
const dir = mkdtempSync(join(tmpdir(), 'edge-buf-full-'));

/** Mounts the 1 MiB tmpfs; the reason to skip when this machine will not let us. */
function mount(): string | undefined {
  if (process.getuid?.() !== 0) return 'mounting a tmpfs needs root';
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m,mode=0700', 'tmpfs', dir], { stdio: 'pipe' });
    return undefined;
  } catch (err) {
    return `mount -t tmpfs failed: ${String((err as { stderr?: Buffer }).stderr ?? err).trim()}`;
  }
}

const skip = mount();

function used(): number {
  const s = statfsSync(dir);
  return (s.blocks - s.bfree) * s.bsize;
}

const body = (n: number) => Buffer.alloc(n, 5);
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('a temp folder that fills up', { skip: skip ?? false }, () => {
  let up: Upstream;
  let edge: EdgeProcess;
  const seen: { url: string; bytes: number; hash: string }[] = [];
  // past what the loopback sockets' kernel buffers hold, so most of it must wait in edge
  const BIG_RESPONSE = Buffer.alloc(32 * MiB);
  for (let at = 0; at < BIG_RESPONSE.length; at += 65536) BIG_RESPONSE.fill((at >> 16) % 256, at, at + 65536);

  before(async () => {
    up = await startUpstream((req, res) => {
      const h = createHash('sha256');
      let bytes = 0;
      req.on('data', (c: Buffer) => {
        bytes += c.length;
        h.update(c);
      });
      req.on('end', () => {
        seen.push({ url: req.url!, bytes, hash: h.digest('hex') });
        if (req.url === '/download') res.end(BIG_RESPONSE);
        else res.end(`got ${bytes}`);
      });
    });
    const port = await freePort();
    const { file } = writeConfig(`
http_port: ${port}
bind: 127.0.0.1
admin: off
buffering: { temp_dir: ${dir} }
sites:
  - hosts: [test.example]
    tls: off
    routes:
      - match: /
        proxy: { to: ${up.address} }
`);
    edge = await startEdge(['run', '-c', file], { port });
  });
  after(async () => {
    await edge?.stop();
    await up?.close();
    execFileSync('umount', [dir]);
    rmSync(dir, { recursive: true, force: true });
  });

  it('an upload larger than the folder gets 507 and a log line; the app never sees it', async () => {
    const r = await fetchRaw(edge.port, '/upload-big', { method: 'POST', body: body(3 * MiB), timeoutMs: 15_000 });
    assert.equal(r.status, 507);
    await waitFor(() => /507 POST \/upload-big on test.example: the request body could not be buffered: temp folder \S+ \(buffering.temp_dir\): ENOSPC \(no space left\)/.test(logMessages(edge.stderr())), () => `the 507 log line in:\n${logMessages(edge.stderr())}`, 5000);
    assert.deepEqual(seen.map((s) => s.url), []);
    // the unlinked file is closed with the request: its space is free again
    await waitFor(() => used() < 64 * 1024, () => `the tmpfs to be empty again (${used()} bytes used)`, 5000);
  });

  it('then an upload that fits goes through whole', async () => {
    const b = Buffer.from(Array.from({ length: 600_000 }, (_, i) => i % 256));
    const r = await fetchRaw(edge.port, '/upload-fits', { method: 'POST', body: b, timeoutMs: 15_000 });
    assert.equal(r.status, 200);
    assert.equal(r.text, 'got 600000');
    assert.deepEqual(seen.at(-1), { url: '/upload-fits', bytes: 600_000, hash: sha(b) });
  });

  it('a response larger than the folder to a client that waits is sent whole, not cut', async () => {
    const got = await new Promise<{ status: number; body: Buffer }>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: edge.port, path: '/download', agent: false, headers: { host: 'test.example' } }, (res) => {
        res.pause();
        const parts: Buffer[] = [];
        // long enough for edge to fill the tmpfs with what the client has not read
        setTimeout(() => {
          res.on('data', (c: Buffer) => parts.push(c));
          res.on('end', () => resolve({ status: res.statusCode!, body: Buffer.concat(parts) }));
          res.on('error', reject);
          res.resume();
        }, 1500);
      });
      req.on('error', reject);
      req.setTimeout(20_000, () => req.destroy(new Error('client timeout')));
      req.end();
    });
    assert.match(logMessages(edge.stderr()), /response buffer: temp folder \S+ \(buffering.temp_dir\): ENOSPC \(no space left\).*the app is paused until the client has read/);
    assert.equal(got.status, 200);
    assert.equal(got.body.length, BIG_RESPONSE.length);
    assert.equal(sha(got.body), sha(BIG_RESPONSE));
    await waitFor(() => used() < 64 * 1024, () => `the tmpfs to be empty again (${used()} bytes used)`, 5000);
  });
});
