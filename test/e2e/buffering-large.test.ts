// A 1 GiB upload and a 1 GiB download through buffering keep edge's RSS flat: the bodies go
// through temp files, not memory. The upload is spooled whole before the app sees it; the
// download is spooled whole while the client reads nothing, then read.
//
// "Flat" is measured against the same transfers of 128 MiB first: whatever the size, Node leaves
// up to ~45 MiB of spent body buffers (process.memoryUsage().arrayBuffers, seen swinging 4-47 MiB
// while the heap stayed 15-19 MiB) until V8's next collection, which its external-memory limit
// (64 MiB) triggers; so RSS swings by that much with any large body. The 1 GiB peak must stay
// within 32 MiB of the 128 MiB peak: memory that grew with the body would be 8 times as much. After each, no temp file is left: none in the folder, none still open by edge (the files
// are unlinked at once, so an open one would show as "(deleted)" under /proc/<pid>/fd), and
// edge_buffer_temp_bytes is back to 0. Loopback only; every wait is bounded.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { request, type IncomingMessage } from 'node:http';
import { mkdtempSync, readdirSync, readlinkSync, statfsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, startEdge, waitFor, type EdgeProcess } from '../helpers/edge.ts';
import { startUpstream, type Upstream } from '../helpers/upstream.ts';
import { writeConfig } from '../helpers/config.ts';
import { scrape, value } from '../helpers/metrics.ts';

const GiB = 1024 ** 3;
const CHUNK = 1024 * 1024;
const FLAT = 32 * 1024 * 1024;
const WARM = 128 * 1024 * 1024;
/** Bytes free in `dir`, 0 when it is not there. */
function free(dir: string): number {
  try {
    const { bavail, bsize } = statfsSync(dir);
    return bavail * bsize;
  } catch {
    return 0;
  }
}
// In RAM where there is room: 2 GiB written to the disk's page cache makes Linux throttle every
// writer on it, so the test files running beside this one (slow-clients' response buffers) stalled
const base = free('/dev/shm') > 3 * GiB ? '/dev/shm' : tmpdir();
const temp = join(mkdtempSync(join(base, 'edge-buf-large-')), 'spool');
const room = free(base) > 3 * GiB;

/** Chunk k of a body is k % 251 throughout, so the receiver can check each byte's place cheaply. */
const chunks = Array.from({ length: 251 }, (_, k) => Buffer.alloc(CHUNK, k));

/** Writes `total` bytes of the pattern to `out`, waiting on backpressure. */
async function writePattern(out: NodeJS.WritableStream, total: number): Promise<void> {
  for (let k = 0; k * CHUNK < total; k++) {
    if (!out.write(chunks[k % 251]!)) await new Promise((r) => out.once('drain', r));
  }
}

/** Counts what arrives and checks the pattern at the start and end of every piece. */
function checker() {
  let at = 0;
  let bad = 0;
  return {
    add(piece: Buffer) {
      if (piece[0] !== Math.floor(at / CHUNK) % 251 || piece[piece.length - 1] !== Math.floor((at + piece.length - 1) / CHUNK) % 251) bad++;
      at += piece.length;
    },
    get bytes() { return at; },
    get bad() { return bad; },
  };
}

/** Samples edge's RSS every 50 ms until stopped; the highest seen. */
function sampleRss(edge: EdgeProcess) {
  let max = edge.memory().rss;
  const timer = setInterval(() => (max = Math.max(max, edge.memory().rss)), 50);
  return () => {
    clearInterval(timer);
    return Math.max(max, edge.memory().rss);
  };
}

function tempFilesOpen(pid: number): string[] {
  return readdirSync(`/proc/${pid}/fd`).flatMap((fd) => {
    try {
      const target = readlinkSync(`/proc/${pid}/fd/${fd}`);
      return target.startsWith(temp) ? [target] : [];
    } catch {
      return [];
    }
  });
}

const mib = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MiB`;

describe('1 GiB through buffering', { skip: room ? false : `less than 3 GiB free in ${base} for the temp files` }, () => {
  let up: Upstream;
  let edge: EdgeProcess;
  let admin: number;
  let uploaded = checker();
  let downloadDone = false;
  let warmUpload = 0;
  let warmDownload = 0;
  let idle = 0;

  before(async () => {
    up = await startUpstream((req, res) => {
      if (req.method === 'PUT') {
        uploaded = checker();
        req.on('data', (c: Buffer) => uploaded.add(c));
        req.on('end', () => res.end(`got ${uploaded.bytes}`));
        return;
      }
      const size = req.url === '/warm' ? WARM : GiB;
      downloadDone = false;
      res.writeHead(200, { 'content-length': size, 'content-type': 'application/octet-stream' });
      void writePattern(res, size).then(() => res.end(() => (downloadDone = true)));
    });
    admin = await freePort();
    const port = await freePort();
    const { file } = writeConfig(`
http_port: ${port}
bind: 127.0.0.1
admin: 127.0.0.1:${admin}
log: { access: off }
buffering: { temp_dir: ${temp}, max_temp_file_size: 2GiB }
limits: { max_body_size: 2GiB }
sites:
  - hosts: [test.example]
    tls: off
    routes:
      - match: /
        proxy: { to: ${up.address}, timeouts: { read: 60s } }
`);
    edge = await startEdge(['run', '-c', file], { port });
    idle = edge.memory().rss;
    let peak = sampleRss(edge);
    assert.equal(await upload(WARM), `200 got ${WARM}`);
    warmUpload = peak();
    await waitFor(() => tempFilesOpen(edge.proc.pid!).length === 0, 'the warm-up temp file to close', 10_000);
    peak = sampleRss(edge);
    assert.equal((await download('/warm', true)).bytes, WARM);
    warmDownload = peak();
  });
  after(async () => {
    await edge?.stop();
    await up?.close();
  });

  function upload(size: number): Promise<string> {
    return new Promise((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: edge.port, method: 'PUT', path: '/up', agent: false, headers: { host: 'test.example', 'content-length': size } }, (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d));
        res.on('end', () => resolve(`${res.statusCode} ${text}`));
      });
      req.on('error', reject);
      void writePattern(req, size).then(() => req.end());
    });
  }

  /** GETs `path`; with `hold`, reads nothing until the app has written its whole response. */
  function download(path: string, hold: boolean): Promise<{ status: number; bytes: number; bad: number }> {
    return new Promise((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: edge.port, path, agent: false, headers: { host: 'test.example' } }, (res: IncomingMessage) => {
        const got = checker();
        res.pause();
        const read = () => {
          res.on('data', (c: Buffer) => got.add(c));
          res.on('end', () => resolve({ status: res.statusCode!, bytes: got.bytes, bad: got.bad }));
          res.resume();
        };
        if (!hold) read();
        else void waitFor(() => downloadDone, 'the app to write its whole response', 120_000).then(read, reject);
      });
      req.on('error', reject);
      req.end();
    });
  }

  async function assertNoTempLeft(): Promise<void> {
    await waitFor(() => tempFilesOpen(edge.proc.pid!).length === 0, () => `edge to close its temp files: ${tempFilesOpen(edge.proc.pid!).join(', ')}`, 10_000);
    assert.deepEqual(readdirSync(temp), []);
    assert.equal(value(await scrape(admin), 'edge_buffer_temp_bytes'), 0);
  }

  it('a 1 GiB upload reaches the app whole, edge RSS within 32 MiB of a 128 MiB one', { timeout: 180_000 }, async () => {
    const before = edge.memory().rss;
    const peak = sampleRss(edge);
    const answer = await upload(GiB);
    const max = peak();
    assert.equal(answer, `200 got ${GiB}`);
    assert.equal(uploaded.bad, 0, 'the app got the bytes out of order');
    assert.ok(value(await scrape(admin), 'edge_buffer_spooled_bytes_total', { direction: 'request' }) >= GiB, 'the upload did not go through a temp file');
    const after = edge.memory().rss;
    console.log(`# upload: RSS idle ${mib(idle)}, highest with 128 MiB ${mib(warmUpload)}; with 1 GiB: before ${mib(before)}, highest ${mib(max)}, after ${mib(after)}`);
    assert.ok(max - warmUpload <= FLAT, `RSS rose ${mib(max - warmUpload)} over the 128 MiB upload's peak`);
    await assertNoTempLeft();
  });

  it('a 1 GiB download spooled while the client waits, edge RSS within 32 MiB of a 128 MiB one', { timeout: 180_000 }, async () => {
    const before = edge.memory().rss;
    const peak = sampleRss(edge);
    const got = await download('/down', true);
    const max = peak();
    assert.equal(got.status, 200);
    assert.equal(got.bytes, GiB);
    assert.equal(got.bad, 0, 'the client got the bytes out of order');
    const page = await scrape(admin);
    assert.ok(value(page, 'edge_buffer_spooled_bytes_total', { direction: 'response' }) >= GiB * 0.9, 'the response did not go through a temp file');
    const after = edge.memory().rss;
    console.log(`# download: RSS highest with 128 MiB ${mib(warmDownload)}; with 1 GiB: before ${mib(before)}, highest ${mib(max)}, after ${mib(after)}`);
    assert.ok(max - warmDownload <= FLAT, `RSS rose ${mib(max - warmDownload)} over the 128 MiB download's peak`);
    await assertNoTempLeft();
  });
});
