// A real Knot DNS server, authoritative for one test zone on a loopback high port, accepting
// dynamic updates signed with one TSIG key. Started in a temp dir; kdig reads the zone back.

import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort, waitFor } from './edge.ts';

const run = promisify(execFile);

export interface Knot {
  port: number;
  /** host:port, as edge's config takes it. */
  address: string;
  zone: string;
  key: { name: string; algorithm: string; secret: string };
  /** The TXT values of `name`, read with kdig straight from Knot. */
  txt(name: string): Promise<string[]>;
  stop(): Promise<void>;
  output(): string;
}

export async function startKnot(opts: { zone?: string; algorithm?: string } = {}): Promise<Knot> {
  const zone = opts.zone ?? 'test.example';
  const algorithm = opts.algorithm ?? 'hmac-sha256';
  const secret = randomBytes(32).toString('base64');
  const dir = mkdtempSync(join(tmpdir(), 'edge-knot-'));
  const port = await freePort();
  mkdirSync(join(dir, 'db'));
  writeFileSync(join(dir, `${zone}.zone`), `$ORIGIN ${zone}.
$TTL 60
@ SOA ns.${zone}. hostmaster.${zone}. 1 3600 600 86400 60
@ NS ns
ns A 127.0.0.1
@ A 127.0.0.1
* A 127.0.0.1
`);
  writeFileSync(join(dir, 'knot.conf'), `server:
  rundir: ${dir}
  listen: 127.0.0.1@${port}
log:
  - target: stderr
    any: info
database:
  storage: ${dir}/db
control:
  listen: ${dir}/knot.sock
key:
  - id: edge
    algorithm: ${algorithm}
    secret: ${secret}
acl:
  - id: update
    key: edge
    action: update
zone:
  - domain: ${zone}
    storage: ${dir}
    file: ${zone}.zone
    zonefile-sync: -1
    acl: update
`);
  const log = { text: '' };
  const proc: ChildProcess = spawn('knotd', ['-c', join(dir, 'knot.conf')], { stdio: ['ignore', 'pipe', 'pipe'] });
  proc.stdout!.on('data', (d) => (log.text += d));
  proc.stderr!.on('data', (d) => (log.text += d));
  const txt = async (name: string) => {
    const { stdout } = await run('kdig', [`@127.0.0.1`, '-p', String(port), '+short', '+norecurse', '+timeout=2', 'TXT', name]);
    return stdout.split('\n').filter(Boolean).map((l) => l.replace(/^"|"$/g, ''));
  };
  await waitFor(() => /loaded, serial/.test(log.text) || proc.exitCode !== null, () => `knotd did not load the zone:\n${log.text}`, 10_000);
  if (proc.exitCode !== null) throw new Error(`knotd exited:\n${log.text}`);
  return {
    port,
    address: `127.0.0.1:${port}`,
    zone,
    key: { name: 'edge', algorithm, secret },
    txt,
    stop: () => new Promise<void>((resolve) => {
      if (proc.exitCode !== null || proc.signalCode !== null) return resolve();
      proc.once('exit', () => resolve());
      proc.kill('SIGTERM');
    }),
    output: () => log.text,
  };
}
