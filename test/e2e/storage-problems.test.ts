// A storage folder edge cannot use: a path through a file (ENOTDIR), a folder the user may not
// create (EACCES), an existing folder the user may not write in, and /proc, where Node's recursive
// mkdir spun at full CPU forever (ENOENT for a parent that exists). Each used to be a stack trace,
// a silent spin, or a start whose handshakes then failed; now edge exits 1 before it listens with
// one line "storage X: cannot ...", and `edge check` reports the same. Run as root, the permission
// cases start edge as the user nobody (root may write anywhere).

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BIN, freePort, ROOT } from '../helpers/edge.ts';

const asRoot = process.getuid?.() === 0;
const NOBODY = 65534;

/** Runs edge to its end, killed after 20 s (the /proc case never ended). */
function run(args: string[], uid?: number): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const proc = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'], ...(uid === undefined ? {} : { uid, gid: uid }) });
    let stderr = '';
    proc.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => proc.kill('SIGKILL'), 20_000);
    proc.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr });
    });
  });
}

/** A folder everybody may read (the config must be readable by nobody too). */
function openDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'edge-storage-'));
  chmodSync(dir, 0o755);
  return dir;
}

async function expectRefused(storage: string, reason: RegExp, uid?: number): Promise<void> {
  const ports = ['--http-port', String(await freePort()), '--https-port', String(await freePort())];
  const r = await run(['--domain', 'localhost', ...ports, '--admin', 'off', '--storage', storage], uid);
  assert.equal(r.code, 1, r.stderr);
  const lines = r.stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0]!, new RegExp(`^edge: storage ${storage}: cannot ${reason.source}$`));
  assert.doesNotMatch(r.stderr, /listening|\n\s+at /);

  const file = join(openDir(), 'edge.yaml');
  writeFileSync(file, `http_port: ${ports[1]}\nhttps_port: ${ports[3]}\nstorage: ${storage}\nsites: [{ hosts: [localhost], routes: [{ respond: { status: 200, body: hi } }] }]\n`);
  chmodSync(file, 0o644);
  const check = await run(['check', '-c', file], uid);
  assert.equal(check.code, 1, check.stderr);
  assert.match(check.stderr, new RegExp(`^${file}:3:10: storage: cannot ${reason.source.replace(/^([a-z ]+the folder)/, `$1 ${storage}`)}\n$`));
}

describe('a storage folder edge cannot use', () => {
  it('--storage FILE/certs (ENOTDIR) is one line naming the file, not a stack trace', async () => {
    const file = join(openDir(), 'passwd');
    writeFileSync(file, 'root:x:0:0\n');
    await expectRefused(`${file}/certs`, new RegExp(`create the folder: ${file} is a file, not a folder \\(ENOTDIR\\)`));
  });

  it('storage: /proc/edge-certs ends at once instead of spinning in a mkdir → ENOENT loop', async () => {
    await expectRefused('/proc/edge-certs', /create the folder: \/proc does not allow new folders \(ENOENT\)/);
  });

  it('a folder the user may not create (EACCES) is one line naming where', async () => {
    const parent = openDir(); // root's (or this user's) 0755 folder
    if (!asRoot) chmodSync(parent, 0o555);
    await expectRefused(`${parent}/certs`, new RegExp(`create the folder: permission denied in ${parent} for uid \\d+, the user edge runs as \\(EACCES\\)`), asRoot ? NOBODY : undefined);
  });

  it('an existing folder the user may not write in stops edge at start instead of failing every handshake', async () => {
    const dir = join(openDir(), 'certs');
    mkdirSync(dir);
    if (asRoot) chownSync(dir, NOBODY, NOBODY);
    chmodSync(dir, 0o555);
    await expectRefused(dir, /write in the folder: permission denied for uid \d+, the user edge runs as \(EACCES\)/, asRoot ? NOBODY : undefined);
  });
});
