// The exec DNS provider's failures, each with what the user needs in the message: a script that
// runs too long is stopped at its timeout, a command that is not there is named.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ExecProvider } from '../../src/tls/dns/exec.ts';

function script(body: string): string {
  const path = join(mkdtempSync(join(tmpdir(), 'edge-hook-')), 'hook.sh');
  writeFileSync(path, `#!/bin/sh\n${body}\n`);
  chmodSync(path, 0o755);
  return path;
}

describe('exec DNS provider', () => {
  it('a script that hangs is stopped at the timeout, and the error says so with its stderr', async () => {
    const path = script('echo "calling the API" >&2\nexec sleep 30');
    await assert.rejects(new ExecProvider({ command: path, timeoutMs: 500 }).present('_acme-challenge.a.example', 'v'), {
      message: `DNS exec provider: ${path} present _acme-challenge.a.example v did not finish in 0.5 s, stopped: calling the API`,
    });
  });

  it('a missing command is named', async () => {
    await assert.rejects(new ExecProvider({ command: '/nonexistent/hook', timeoutMs: 5000 }).cleanup('n', 'v'),
      /DNS exec provider: cannot run \/nonexistent\/hook \(spawn \/nonexistent\/hook ENOENT\)/);
  });

  it('succeeds on exit 0 and gets present NAME VALUE as arguments', async () => {
    const path = script('[ "$1 $2 $3" = "present _acme-challenge.a.example v1" ] || { echo "got $*" >&2; exit 1; }');
    await new ExecProvider({ command: path, timeoutMs: 5000 }).present('_acme-challenge.a.example', 'v1');
  });
});
