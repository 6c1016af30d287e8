// A real Pebble (Let's Encrypt's ACME test server) and pebble-challtestsrv for end-to-end tests.
// Pebble's HTTPS listener gets a certificate from edge's own local CA, made at start; the root
// it issues from is new on every start and fetched from its management port.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FsStorage } from '../../src/tls/storage/fs.ts';
import { LocalCA } from '../../src/tls/local-ca.ts';
import { freePort } from './edge.ts';

export interface Pebble {
  directory: string;
  /** PEM of the root Pebble's HTTPS listener chains to: edge's acme.ca_root. */
  listenerRootFile: string;
  /** Pebble's own listener certificate and key (PEM), for a stand-in server on 127.0.0.1. */
  listenerCert: { cert: string; key: string };
  /** PEM of the root Pebble issues certificates from. */
  issuingRoot(): Promise<string>;
  stop(): Promise<void>;
  output(): string;
}

function get(url: string, ca: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { ca }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode!, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

function spawnLogged(cmd: string, args: string[], env: NodeJS.ProcessEnv, log: { text: string }): ChildProcess {
  const proc = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  proc.stdout!.on('data', (d) => (log.text += d));
  proc.stderr!.on('data', (d) => (log.text += d));
  return proc;
}

/**
 * Starts challtestsrv (DNS: every name is 127.0.0.1) and Pebble, validating HTTP-01 on `httpPort`
 * and TLS-ALPN-01 on `tlsPort` (edge's ports). `validitySeconds` shortens certificates; `eab`
 * (kid → HMAC key) makes external account binding required. `dnsServer` (host:port): Pebble
 * resolves through that server (a test's Knot) instead, so DNS-01 reads the records edge published.
 */
export async function startPebble(opts: { httpPort: number; tlsPort: number; validitySeconds?: number; eab?: Record<string, string>; dnsServer?: string }): Promise<Pebble> {
  const dir = mkdtempSync(join(tmpdir(), 'edge-pebble-'));
  const ca = await LocalCA.load(new FsStorage(join(dir, 'ca')));
  const leaf = await ca.issue(['localhost', '127.0.0.1']);
  writeFileSync(join(dir, 'cert.pem'), leaf.certPem);
  writeFileSync(join(dir, 'key.pem'), leaf.keyPem);
  const listenerRootFile = join(dir, 'listener-root.pem');
  writeFileSync(listenerRootFile, ca.rootPem);
  const [acmePort, mgmtPort, dnsPort, dnsMgmtPort] = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
  writeFileSync(join(dir, 'pebble.json'), JSON.stringify({
    pebble: {
      listenAddress: `127.0.0.1:${acmePort}`,
      managementListenAddress: `127.0.0.1:${mgmtPort}`,
      certificate: join(dir, 'cert.pem'),
      privateKey: join(dir, 'key.pem'),
      httpPort: opts.httpPort,
      tlsPort: opts.tlsPort,
      ocspResponderURL: '',
      externalAccountBindingRequired: opts.eab !== undefined,
      ...(opts.eab ? { externalAccountMACKeys: opts.eab } : {}),
      ...(opts.validitySeconds ? { certificateValidityPeriod: opts.validitySeconds } : {}),
    },
  }));
  const log = { text: '' };
  const dns = opts.dnsServer ? undefined : spawnLogged('pebble-challtestsrv', [
    '-defaultIPv4', '127.0.0.1', '-defaultIPv6', '', '-dns01', `127.0.0.1:${dnsPort}`,
    '-http01', '', '-https01', '', '-tlsalpn01', '', '-management', `127.0.0.1:${dnsMgmtPort}`,
  ], {}, log);
  const pebble = spawnLogged('pebble', ['-config', join(dir, 'pebble.json'), '-dnsserver', opts.dnsServer ?? `127.0.0.1:${dnsPort}`], {
    PEBBLE_VA_NOSLEEP: '1', PEBBLE_WFE_NONCEREJECT: '0', PEBBLE_AUTHZREUSE: '0',
  }, log);
  const directory = `https://127.0.0.1:${acmePort}/dir`;
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      if ((await get(directory, ca.rootPem)).status === 200) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline || pebble.exitCode !== null) throw new Error(`pebble did not start:\n${log.text}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const stop = (p: ChildProcess | undefined) => new Promise<void>((resolve) => {
    if (!p || p.exitCode !== null || p.signalCode !== null) return resolve();
    p.once('exit', () => resolve());
    p.kill('SIGTERM');
  });
  return {
    directory,
    listenerRootFile,
    listenerCert: { cert: leaf.certPem, key: leaf.keyPem },
    issuingRoot: async () => (await get(`https://127.0.0.1:${mgmtPort}/roots/0`, ca.rootPem)).body,
    stop: async () => {
      await Promise.all([stop(pebble), stop(dns)]);
    },
    output: () => log.text,
  };
}
