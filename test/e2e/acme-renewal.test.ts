// Renewal against a real Pebble: short-lived certificates renewed while serving with no failed
// request; Pebble down at renewal time keeps the old certificate serving and schedules a retry;
// ARI (through a stand-in renewalInfo endpoint) renews inside the window with `replaces`.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, startEdge, waitFor, logMessages } from '../helpers/edge.ts';
import { startUpstream } from '../helpers/upstream.ts';
import { writeConfig } from '../helpers/config.ts';
import { startPebble, type Pebble } from '../helpers/pebble.ts';
import { startAriProxy, type AriProxy } from '../helpers/ari-proxy.ts';
import { httpsGet, servedSerial } from '../helpers/tls-client.ts';

const NAME = 'renew.edge-e2e.net';

async function setup(opts: { validitySeconds?: number; directory?: (pebble: Pebble) => Promise<string> }) {
  const ports = { http: await freePort(), https: await freePort() };
  const pebble = await startPebble({ httpPort: ports.http, tlsPort: ports.https, validitySeconds: opts.validitySeconds });
  const directory = opts.directory ? await opts.directory(pebble) : pebble.directory;
  const up = await startUpstream((_req, res) => res.end('ok'));
  const storage = mkdtempSync(join(tmpdir(), 'edge-certs-'));
  const { file } = writeConfig(`
http_port: ${ports.http}
https_port: ${ports.https}
bind: 127.0.0.1
storage: ${storage}
log: { access: off }
acme: { ca: "${directory}", ca_root: ${pebble.listenerRootFile}, challenges: [http-01], preflight: false }
sites:
  - hosts: [${NAME}]
    routes: [{ proxy: { to: ${up.address} } }]
`);
  const edge = await startEdge(['run', '-c', file], { port: ports.http });
  const issued = () => logMessages(edge.stderr()).match(new RegExp(`certificate ${NAME.replaceAll('.', '\\.')}: issued`, 'g'))?.length ?? 0;
  await waitFor(() => issued() >= 1, 'first certificate', 30_000);
  const root = await pebble.issuingRoot();
  const cleanup = async () => {
    await edge.stop();
    await up.close();
    await pebble.stop();
  };
  return { ports, pebble, edge, root, storage, issued, cleanup };
}

/** Requests over fresh TLS connections until `until()` holds or the time is up: counts and failures. */
async function steadyLoad(port: number, root: string, until: () => boolean, maxMs: number): Promise<{ ok: number; failed: string[]; serials: Set<string> }> {
  const result = { ok: 0, failed: [] as string[], serials: new Set<string>() };
  const deadline = Date.now() + maxMs;
  while (!until() && Date.now() < deadline) {
    try {
      const a = await httpsGet(port, NAME, '/', root);
      if (a.status === 200 && a.text === 'ok') result.ok++;
      else result.failed.push(`status ${a.status}`);
      result.serials.add(await servedSerial(port, NAME, root));
    } catch (err) {
      result.failed.push((err as Error).message);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return result;
}

describe('renewal', () => {
  it('renews a short-lived certificate on its own while serving, with no failed request', async () => {
    const s = await setup({ validitySeconds: 20 });
    try {
      const first = await servedSerial(s.ports.https, NAME, s.root);
      const load = await steadyLoad(s.ports.https, s.root, () => s.issued() >= 2, 25_000);
      assert.ok(s.issued() >= 2, `renewed within 25 s:\n${logMessages(s.edge.stderr())}`);
      const after = await servedSerial(s.ports.https, NAME, s.root);
      assert.notEqual(after, first);
      assert.deepEqual(load.failed, []);
      assert.ok(load.ok > 20, `steady load ran: ${load.ok} requests`);
      assert.ok(load.serials.has(first));
    } finally {
      await s.cleanup();
    }
  });

  it('with the CA down at renewal time, keeps the old certificate serving and schedules a retry', async () => {
    const s = await setup({ validitySeconds: 40 });
    try {
      const first = await servedSerial(s.ports.https, NAME, s.root);
      await s.pebble.stop();
      await waitFor(() => /certificate renew\.edge-e2e\.net: FAILED \(attempt 1\): .*; the current certificate \(valid until .*\) keeps serving; next attempt at \S+/.test(logMessages(s.edge.stderr())), () => `failure logged:\n${logMessages(s.edge.stderr())}`, 30_000);
      assert.equal(await servedSerial(s.ports.https, NAME, s.root), first);
      assert.equal((await httpsGet(s.ports.https, NAME, '/', s.root)).status, 200);
      const ledger = JSON.parse(readFileSync(join(s.storage, `127.0.0.1-${new URL(s.pebble.directory).port}-dir`, NAME, 'ledger.json'), 'utf8'));
      assert.equal(ledger.failures, 1);
      const retryIn = Date.parse(ledger.nextAttempt) - Date.parse(ledger.lastAttempt);
      assert.ok(retryIn >= 60_000 && retryIn < 61_000, `first retry a minute later (${retryIn} ms)`);
    } finally {
      await s.cleanup();
    }
  });

  it('follows the ARI window and sends `replaces` on the renewal order', async () => {
    let proxy: AriProxy | undefined;
    const s = await setup({
      directory: async (pebble) => {
        proxy = await startAriProxy(pebble);
        return proxy.directory;
      },
    });
    try {
      await waitFor(() => s.issued() >= 2, () => `renewal inside the ARI window:\n${logMessages(s.edge.stderr())}\n${JSON.stringify(proxy!.orders)}`, 30_000);
      const [first, renewal] = proxy!.orders;
      assert.equal(first!.replaces, undefined);
      assert.match(String(renewal!.replaces), /^[\w-]+\.[\w-]+$/);
      assert.equal(renewal!.replaces, proxy!.renewalInfoAsked[0]);
      // the new certificate's window is a month away: asked about, not renewed
      await waitFor(() => proxy!.renewalInfoAsked.length >= 2, 'ARI asked about the new certificate');
      assert.notEqual(proxy!.renewalInfoAsked[1], proxy!.renewalInfoAsked[0]);
      assert.equal(proxy!.orders.length, 2);
    } finally {
      await s.cleanup();
      await proxy?.close();
    }
  });
});
