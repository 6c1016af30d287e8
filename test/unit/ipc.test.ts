// Request/reply over a real process channel whose other side has gone: the question fails at
// once, and the closed channel is no 'error' event that would stop the asking process.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { Rpc } from '../../src/ops/ipc.ts';

describe('Rpc over a closed channel', () => {
  it('a question to a process that just exited is rejected at once, not thrown as an error event', async () => {
    const child = spawn(process.execPath, ['-e', ''], { stdio: ['ignore', 'ignore', 'ignore', 'ipc'] });
    await new Promise((resolve) => child.once('exit', resolve));
    assert.equal(child.connected, false);
    const rpc = new Rpc(child);
    // the time limit is far above "at once": a rejection by timeout would say so in its message
    await assert.rejects(rpc.ask({ q: 'metrics' }, 10_000), (err: NodeJS.ErrnoException) => err.code === 'ERR_IPC_CHANNEL_CLOSED');
    // an 'error' event on the child would have thrown by now; give it one more turn to show up
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(child.listenerCount('error'), 0);
  });
});
