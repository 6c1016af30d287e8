// Preflight: a name that does not resolve is reported with the reason and put on the retry
// ladder, without a word to the CA (here an address where nothing listens).

import { it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, startEdge, waitFor } from '../helpers/edge.ts';
import { writeConfig } from '../helpers/config.ts';

it('reports a name that does not resolve instead of ordering it', async () => {
  const name = `nowhere-${process.pid}.example.com`;
  const [http, https, nothing] = await Promise.all([freePort(), freePort(), freePort()]);
  const storage = mkdtempSync(join(tmpdir(), 'edge-certs-'));
  const { file } = writeConfig(`
http_port: ${http}
https_port: ${https}
bind: 127.0.0.1
admin: off
storage: ${storage}
acme: { ca: "https://127.0.0.1:${nothing}/dir" }
sites:
  - hosts: [${name}]
    routes: [{ respond: { body: hi } }]
`);
  const edge = await startEdge(['run', '-c', file], { port: http });
  try {
    const failure = new RegExp(`certificate ${name.replaceAll('.', '\\.')}: FAILED \\(attempt 1\\): preflight: ${name.replaceAll('.', '\\.')} does not resolve \\((ENOTFOUND|EAI_AGAIN|ENODATA)\\); point its DNS at this server first; the site has no certificate yet; next attempt at \\S+`);
    await waitFor(() => failure.test(edge.stderr()), () => `preflight failure:\n${edge.stderr()}`, 20_000);
    assert.doesNotMatch(edge.stderr(), /ordering|ECONNREFUSED/);
    const ledger = JSON.parse(readFileSync(join(storage, `127.0.0.1-${nothing}-dir`, name, 'ledger.json'), 'utf8'));
    assert.equal(ledger.failures, 1);
    assert.match(ledger.lastError, /does not resolve/);
  } finally {
    await edge.stop();
  }
});
