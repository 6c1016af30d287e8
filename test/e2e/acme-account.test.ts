// Before and around the order: preflight reports a name that does not resolve (and puts it on
// the retry ladder) without a word to the CA; external account binding, for CAs that need it.

import { it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, startEdge, waitFor, logMessages } from '../helpers/edge.ts';
import { writeConfig } from '../helpers/config.ts';
import { startPebble } from '../helpers/pebble.ts';

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
    await waitFor(() => failure.test(logMessages(edge.stderr())), () => `preflight failure:\n${logMessages(edge.stderr())}`, 20_000);
    assert.doesNotMatch(logMessages(edge.stderr()), /ordering|ECONNREFUSED/);
    const ledger = JSON.parse(readFileSync(join(storage, `127.0.0.1-${nothing}-dir`, name, 'ledger.json'), 'utf8'));
    assert.equal(ledger.failures, 1);
    assert.match(ledger.lastError, /does not resolve/);
  } finally {
    await edge.stop();
  }
});

it('registers with external account binding when the CA requires it', async () => {
  const [http, https] = await Promise.all([freePort(), freePort()]);
  const hmac = 'zWNDZM6eQGHWpSRTPal5eIUYFTu7EajVIoguysqZ9wG44nMEtx3MUAsUDkMTQ12W';
  const pebble = await startPebble({ httpPort: http, tlsPort: https, eab: { 'kid-1': hmac } });
  const config = (eab: string) => writeConfig(`
http_port: ${http}
https_port: ${https}
bind: 127.0.0.1
admin: off
storage: ${mkdtempSync(join(tmpdir(), 'edge-certs-'))}
acme: { ca: "${pebble.directory}", ca_root: ${pebble.listenerRootFile}, preflight: false${eab} }
sites:
  - hosts: [eab.edge-e2e.net]
    routes: [{ respond: { body: hi } }]
`).file;
  try {
    // each edge stopped in its own finally: one left running when a wait fails keeps the test file from ending
    const without = await startEdge(['run', '-c', config('')], { port: http });
    try {
      await waitFor(() => /certificate eab\.edge-e2e\.net: FAILED \(attempt 1\): .*externalAccountBinding/.test(logMessages(without.stderr())), () => `refusal without EAB:\n${logMessages(without.stderr())}`, 20_000);
    } finally {
      await without.stop();
    }
    const withEab = await startEdge(['run', '-c', config(`, eab: { kid: kid-1, hmac_key: ${hmac} }`)], { port: http });
    try {
      await waitFor(() => logMessages(withEab.stderr()).includes('certificate eab.edge-e2e.net: issued'), () => `issued with EAB:\n${logMessages(withEab.stderr())}`, 20_000);
    } finally {
      await withEab.stop();
    }
  } finally {
    await pebble.stop();
  }
});
