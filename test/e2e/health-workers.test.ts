// /health of a one-process edge: the README lists a workers field, which only the supervisor's
// (workers > 1) had.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { freePort, startEdge } from '../helpers/edge.ts';

describe('/health', () => {
  it('a one-process edge reports workers too (the field was missing)', async () => {
    const admin = await freePort();
    const edge = await startEdge(['--domain', 'test.example', '--http-port', '{port}', '--tls', 'off', '--bind', '127.0.0.1', '--admin', `127.0.0.1:${admin}`]);
    try {
      const body = await (await fetch(`http://127.0.0.1:${admin}/health`)).json() as { status: string; workers?: { wanted: number; ready: number; pids: number[] } };
      assert.equal(body.status, 'ok');
      assert.deepEqual(body.workers && { wanted: body.workers.wanted, ready: body.workers.ready, pids: body.workers.pids }, { wanted: 1, ready: 1, pids: [edge.proc.pid] });
    } finally {
      await edge.stop();
    }
  });
});
