// `edge run` with an upstream Unix socket that does not exist: edge check warned about it, edge
// run said nothing until the first request's 502. It starts (the app may come up later) and says
// so at once, in edge check's words.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, startEdge } from '../helpers/edge.ts';
import { writeConfig } from '../helpers/config.ts';

describe('edge run and a missing upstream socket', () => {
  it('warns at start-up that the upstream socket does not exist (it was silent)', async () => {
    const port = await freePort();
    const socket = join(mkdtempSync(join(tmpdir(), 'edge-app-')), 'gunicorn.sock');
    const { file: conf } = writeConfig(`http_port: ${port}
bind: 127.0.0.1
admin: off
sites:
  - hosts: [test.example]
    tls: off
    routes:
      - proxy: { to: unix:${socket} }
`);
    const edge = await startEdge(['run', '-c', conf], { port });
    try {
      assert.ok(edge.stderr().includes(`upstream unix:${socket} does not exist (is the app running?)`), edge.stderr());
    } finally {
      await edge.stop();
    }
  });
});
