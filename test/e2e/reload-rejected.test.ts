// `edge reload -c FILE` with a broken FILE: refused here with file:line:col, and the running edge
// hears of it too, so its log and edge_config_reloads_total{result="failed"} show every refusal.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { freePort, logMessages, runEdge, startEdge, waitFor } from '../helpers/edge.ts';
import { writeConfig } from '../helpers/config.ts';
import { fetchRaw } from '../helpers/http.ts';

describe('rejected reloads', () => {
  it('three edge reloads of a broken file are each logged by the running edge and counted as failed', async () => {
    const port = await freePort();
    const admin = await freePort();
    const good = `http_port: ${port}\nbind: 127.0.0.1\nadmin: 127.0.0.1:${admin}\nsites:\n  - hosts: [test.example]\n    tls: off\n    routes: [{ respond: { body: "one\\n" } }]\n`;
    const { file } = writeConfig(good);
    const edge = await startEdge(['run', '-c', file], { port });
    try {
      writeFileSync(file, `${good}  - hosts: [other.example]\n    tls: off\n    routes: [{ respnd: {} }]\n`);
      for (let i = 0; i < 3; i++) {
        const r = await runEdge(['reload', '-c', file]);
        assert.equal(r.code, 1, r.stdout);
        assert.match(r.stderr, /edge\.yaml:\d+:\d+: /);
      }
      await waitFor(() => logMessages(edge.stderr()).split('reload refused').length - 1 === 3, () => `three refusals logged:\n${logMessages(edge.stderr())}`);
      const metrics = await fetchRaw(admin, '/metrics', { headers: { host: `127.0.0.1:${admin}` } });
      assert.match(metrics.text, /^edge_config_reloads_total\{result="failed"\} 3$/m);
      assert.equal((await fetchRaw(port, '/', { headers: { host: 'test.example' } })).text, 'one\n');
    } finally {
      await edge.stop();
    }
  });
});
