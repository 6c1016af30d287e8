// A 1 GiB file downloads byte-exact at flat memory: streamed from disk with backpressure, never
// read whole. The file is sparse (mostly holes, a stamp at each MiB), so it costs no disk space.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { closeSync, openSync, truncateSync, writeSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { freePort, startEdge, type EdgeProcess } from '../helpers/edge.ts';
import { writeConfig } from '../helpers/config.ts';
import { writeTree } from '../helpers/files.ts';

const MiB = 1024 * 1024;
// as in streaming.test.ts: a first transfer well past what V8 collects at once reaches the plateau
const WARM_UP_MIB = 128;
const SLACK = 64 * MiB;

/** `mib` MiB of zeros with the block's index stamped at the start of each MiB. */
function writeSparse(path: string, mib: number): void {
  const fd = openSync(path, 'w');
  const stamp = Buffer.alloc(4);
  for (let i = 0; i < mib; i++) {
    stamp.writeUInt32BE(i + 1);
    writeSync(fd, stamp, 0, 4, i * MiB);
  }
  closeSync(fd);
  truncateSync(path, mib * MiB);
}

function expectedSha(mib: number): string {
  const h = createHash('sha256');
  const block = Buffer.alloc(MiB);
  for (let i = 0; i < mib; i++) {
    block.writeUInt32BE(i + 1, 0);
    h.update(block);
  }
  return h.digest('hex');
}

function download(port: number, path: string): Promise<{ status: number; bytes: number; sha: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, headers: { host: 'test.example' }, agent: false }, async (res) => {
      const h = createHash('sha256');
      let bytes = 0;
      for await (const chunk of res) {
        h.update(chunk as Buffer);
        bytes += (chunk as Buffer).length;
      }
      resolve({ status: res.statusCode!, bytes, sha: h.digest('hex') });
    });
    req.on('error', reject);
    req.end();
  });
}

let edge: EdgeProcess;
let dir: string;

before(async () => {
  dir = writeTree({ 'www/': { dir: true } });
  writeSparse(join(dir, 'www', 'warm.bin'), WARM_UP_MIB);
  writeSparse(join(dir, 'www', 'huge.bin'), 1024);
  const port = await freePort();
  const { file } = writeConfig(`
http_port: ${port}
bind: 127.0.0.1
admin: off
log: { access: off }
sites:
  - hosts: [test.example]
    tls: off
    routes:
      - static: { root: ${join(dir, 'www')} }
`);
  edge = await startEdge(['run', '-c', file], { port });
});

after(async () => {
  await edge.stop();
});

describe('a large static file', () => {
  it('downloads 1 GiB byte-exact at flat memory', async () => {
    const warm = await download(edge.port, '/warm.bin');
    assert.equal(warm.bytes, WARM_UP_MIB * MiB);
    const baseline = edge.memory().peak;
    const big = await download(edge.port, '/huge.bin');
    assert.equal(big.status, 200);
    assert.equal(big.bytes, 1024 * MiB);
    assert.equal(big.sha, expectedSha(1024));
    const growth = edge.memory().peak - baseline;
    assert.ok(growth < SLACK, `peak RSS grew by ${(growth / MiB).toFixed(1)} MiB over a 1 GiB download`);
  });
});
