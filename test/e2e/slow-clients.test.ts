// The two slow-client attacks of issue 16 against a real Gunicorn with 2 sync workers
// (test/fixtures/slowclient_app.py): slow uploads and slow readers of a large response must not
// take the workers, so normal requests through edge at the same time all get answered.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { connect, type Socket } from 'node:net';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, startEdge, waitFor, type EdgeProcess } from '../helpers/edge.ts';
import { fetchRaw } from '../helpers/http.ts';
import { writeConfig } from '../helpers/config.ts';

const FIXTURES = fileURLToPath(new URL('../fixtures/', import.meta.url));

function attacker(port: number, head: string, onError: (s: Socket) => void): Promise<Socket> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1', () => resolve(s));
    s.on('error', () => onError(s));
    s.write(head);
  });
}

/** `count` normal GETs one after another; the statuses (or the error) of each. */
async function normal(port: number, count: number): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    try {
      const r = await fetchRaw(port, '/ok', { timeoutMs: 5000 });
      out.push(`${r.status} ${r.text}`);
    } catch (err) {
      out.push((err as Error).message);
    }
  }
  return out;
}

describe('slow clients in front of Gunicorn sync workers', () => {
  let dir: string;
  let gunicorn: ChildProcess;
  let edge: EdgeProcess;
  const attackers: Socket[] = [];
  const timers: NodeJS.Timeout[] = [];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'edge-gunicorn-'));
    const sock = join(dir, 'app.sock');
    gunicorn = spawn('gunicorn', ['-w', '2', '-k', 'sync', '--bind', `unix:${sock}`, '--chdir', FIXTURES, 'slowclient_app:app'], { stdio: ['ignore', 'ignore', 'pipe'] });
    gunicorn.stderr!.resume();
    await waitFor(() => existsSync(sock), 'gunicorn to listen', 15_000);
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
      - match: /
        proxy: { to: "unix:${sock}" }
`);
    edge = await startEdge(['run', '-c', file], { port });
  });
  after(async () => {
    for (const t of timers) clearInterval(t);
    for (const s of attackers) s.destroy();
    await edge?.stop();
    if (gunicorn && gunicorn.exitCode === null) {
      gunicorn.kill('SIGTERM');
      await new Promise((r) => gunicorn.once('exit', r));
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('4 slow uploads (70 KB of 200000, then 1 byte every 2 s) do not hold the workers', async () => {
    for (let i = 0; i < 4; i++) {
      const s = await attacker(edge.port, 'POST /upload HTTP/1.1\r\nHost: test.example\r\nContent-Length: 200000\r\n\r\n', (x) => x.destroy());
      s.write(Buffer.alloc(70_000, 1));
      attackers.push(s);
      timers.push(setInterval(() => s.writable && s.write('x'), 2000));
    }
    const got = await normal(edge.port, 12);
    assert.deepEqual(got, Array(12).fill('200 ok'));
    for (const t of timers.splice(0)) clearInterval(t);
    for (const s of attackers.splice(0)) s.destroy();
  });

  it('4 readers that take nothing of a 32 MiB response do not hold the workers', async () => {
    for (let i = 0; i < 4; i++) {
      const s = await attacker(edge.port, 'GET /large HTTP/1.1\r\nHost: test.example\r\n\r\n', (x) => x.destroy());
      s.pause();
      attackers.push(s);
    }
    // every reader's request has reached a worker before the normal ones start
    await new Promise((r) => setTimeout(r, 1000));
    const got = await normal(edge.port, 12);
    assert.deepEqual(got, Array(12).fill('200 ok'));
    for (const s of attackers.splice(0)) s.destroy();
  });
});
