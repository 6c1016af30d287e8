// bin/edge.js restarts itself in place with a bounded young generation: the process the caller
// started (same pid, so systemd and Docker follow it) carries the flag, and so do its workers.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { startEdge, waitFor } from '../helpers/edge.ts';

const cmdline = (pid: number) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');

describe('V8 flags', () => {
  it('the edge process the caller started runs with --max-semi-space-size, and so do its workers', async () => {
    const edge = await startEdge(['--domain', 'test.example', '--to', '127.0.0.1:9', '--http-port', '{port}', '--tls', 'off', '--bind', '127.0.0.1', '--admin', 'off', '--workers', '2'], { startMs: 60_000 });
    try {
      const pid = edge.proc.pid!;
      assert.ok(cmdline(pid).includes('--max-semi-space-size=4'), cmdline(pid).join(' '));
      let workers: number[] = [];
      await waitFor(() => {
        try {
          workers = execFileSync('pgrep', ['-P', String(pid)], { encoding: 'utf8' }).trim().split('\n').filter(Boolean).map(Number);
        } catch {
          workers = []; // pgrep exits 1 while there is no child yet
        }
        return workers.length === 2;
      }, 'two workers');
      for (const w of workers) assert.ok(cmdline(w).includes('--max-semi-space-size=4'), cmdline(w).join(' '));
    } finally {
      await edge.stop();
    }
  });
});
