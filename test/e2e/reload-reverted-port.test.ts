// A reload that changed https_port (reported as needing a restart) and a second one that put it
// back: edge still listens on the port it started with, so the second must not warn
// "https_port changed (B → A)". Checked on a real edge, one process and with workers.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, logMessages, runEdge, startEdge, type EdgeProcess } from '../helpers/edge.ts';
import { writeConfig } from '../helpers/config.ts';
import { httpsGet } from '../helpers/tls-client.ts';

for (const workers of [1, 2]) {
  describe(`a reload that puts a changed https_port back (workers: ${workers})`, () => {
    let edge: EdgeProcess;
    let file: string;
    let https: number;
    const storage = mkdtempSync(join(tmpdir(), 'edge-certs-'));
    let config: (port: number) => string;
    before(async () => {
      const http = await freePort();
      const admin = await freePort();
      https = await freePort();
      config = (port) => `
http_port: ${http}
https_port: ${port}
bind: 127.0.0.1
admin: 127.0.0.1:${admin}
workers: ${workers}
storage: ${storage}
log: { access: off }
sites:
  - hosts: [localhost]
    tls: internal
    routes: [{ respond: { body: served } }]
`;
      ({ file } = writeConfig(config(https)));
      edge = await startEdge(['run', '-c', file], { port: http });
    });
    after(async () => {
      await edge?.stop();
    });

    it('warns for the change, not for the revert, and serves on the started port throughout', async () => {
      const other = await freePort();
      writeFileSync(file, config(other));
      const changed = await runEdge(['reload', '-c', file]);
      assert.equal(changed.code, 0, changed.stderr);
      assert.match(changed.stdout, new RegExp(`^warning: https_port changed \\(${https} → ${other}\\): restart edge to apply it$`, 'm'));

      writeFileSync(file, config(https));
      const reverted = await runEdge(['reload', '-c', file]);
      assert.equal(reverted.code, 0, reverted.stderr);
      assert.doesNotMatch(reverted.stdout, /warning/);
      assert.doesNotMatch(logMessages(edge.stderr()).split('\n').filter((l) => l.includes('reload:')).slice(1).join('\n'), /https_port/);

      const root = readFileSync(join(storage, 'local/root.crt'), 'utf8');
      assert.equal((await httpsGet(https, 'localhost', '/', root)).text, 'served');
    });
  });
}
