// FsStorage: the shared Storage conformance suite, then what only a filesystem store promises:
// file modes, crash safety of put and of a certificate renewal, and locks across real processes
// (contention, a holder killed with SIGKILL, a live holder whose heartbeat keeps it).

import { afterEach, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { CertStore } from '../../src/tls/cert-store.ts';
import { LocalCA } from '../../src/tls/local-ca.ts';
import { FsStorage, ReservedKeyError, TEMP_STALE_MS } from '../../src/tls/storage/fs.ts';
import { LockTimeoutError, StorageKeyError } from '../../src/tls/storage/storage.ts';
import { storageConformance } from '../helpers/storage-conformance.ts';
import { waitFor } from '../helpers/edge.ts';

const FS_MODULE = new URL('../../src/tls/storage/fs.ts', import.meta.url).href;
const STORE_MODULE = new URL('../../src/tls/cert-store.ts', import.meta.url).href;
// Small enough for quick takeovers, with the heartbeat far inside the stale time.
const FAST = { lockStaleMs: 600, lockRefreshMs: 150 };

storageConformance('FsStorage', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'edge-storage-'));
  return { storage: new FsStorage(join(dir, 'certs')), cleanup: () => rm(dir, { recursive: true, force: true }) };
});

interface Child {
  proc: ChildProcess;
  exited: Promise<number | null>;
  stderr(): string;
  /** Resolves once the child has printed `line`. */
  printed(line: string): Promise<void>;
}

describe('FsStorage on disk', () => {
  let dir: string;
  let root: string;
  const children: Child[] = [];

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'edge-storage-'));
    root = join(dir, 'certs');
  });
  afterEach(async () => {
    for (const c of children.splice(0)) {
      if (c.proc.exitCode === null && c.proc.signalCode === null) c.proc.kill('SIGKILL');
    }
    await rm(dir, { recursive: true, force: true });
  });

  /** Runs `body` as an ESM script in a new Node process, with FsStorage, ROOT and LOG in scope. */
  function child(body: string): Child {
    const script = `import { FsStorage } from ${JSON.stringify(FS_MODULE)};
      import { appendFileSync } from 'node:fs';
      const ROOT = ${JSON.stringify(root)};
      const LOG = ${JSON.stringify(join(dir, 'log'))};
      ${body}`;
    const proc = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    proc.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
    proc.stderr!.on('data', (d: Buffer) => { err += d.toString(); });
    const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
    const c: Child = {
      proc,
      exited,
      stderr: () => err,
      printed: (line) => waitFor(() => out.split('\n').includes(line), `the child to print "${line}"`, 10_000),
    };
    children.push(c);
    return c;
  }

  async function mode(path: string): Promise<number> {
    return (await stat(path)).mode & 0o777;
  }

  it('creates folders 0700 and files 0600, and the lock file says who holds it', async () => {
    const storage = new FsStorage(root);
    assert.equal(storage.description, root);
    assert.equal(await mode(root), 0o700);
    await storage.put('acme/example.com/cert.pem', 'pem');
    assert.equal(await mode(join(root, 'acme')), 0o700);
    assert.equal(await mode(join(root, 'acme/example.com')), 0o700);
    assert.equal(await mode(join(root, 'acme/example.com/cert.pem')), 0o600);

    const lock = await storage.lock('issue/example.com');
    assert.equal(await mode(join(root, 'locks')), 0o700);
    const lockFile = join(root, 'locks', 'issue%2Fexample.com.lock');
    assert.equal(await mode(lockFile), 0o600);
    const holder = JSON.parse(await readFile(lockFile, 'utf8'));
    assert.equal(holder.pid, process.pid);
    assert.equal(holder.hostname, hostname());
    assert.ok(Math.abs(Date.parse(holder.created) - Date.now()) < 60_000);
    assert.deepEqual(await storage.list(''), ['acme/example.com/cert.pem']);
    await lock.release();
    await assert.rejects(() => stat(lockFile), { code: 'ENOENT' });
  });

  it('refuses the names it keeps for itself', async () => {
    const storage = new FsStorage(root);
    for (const key of ['locks/x.lock', 'a/.tmp-123', '.tmp-x/y']) {
      await assert.rejects(() => storage.put(key, 'x'), (err: unknown) => {
        assert.ok(err instanceof ReservedKeyError && err instanceof StorageKeyError);
        assert.equal(err.code, 'EBADKEY');
        return true;
      });
      await assert.rejects(() => storage.get(key), ReservedKeyError);
    }
    await assert.rejects(() => storage.list('locks/'), ReservedKeyError);
    assert.deepEqual(await storage.list('lo'), []);
    await storage.put('locksmith', 'fine');
    assert.deepEqual(await storage.list('lock'), ['locksmith']);
  });

  it('a crash between writing the temp file and the rename keeps the old value', { timeout: 30_000 }, async () => {
    const storage = new FsStorage(root);
    await storage.put('acme/example.com/cert.pem', 'old');
    for (const key of ['acme/example.com/cert.pem', 'acme/example.com/new.pem']) {
      const c = child(`
        const storage = new FsStorage(ROOT, { beforeRename: () => process.exit(1) });
        await storage.put(${JSON.stringify(key)}, 'new');`);
      assert.equal(await c.exited, 1, c.stderr());
    }
    const folder = join(root, 'acme/example.com');
    const temps = (await readdir(folder)).filter((n) => n.startsWith('.tmp-'));
    assert.equal(temps.length, 2, 'each crash left its written temp file behind');
    for (const t of temps) assert.equal(await readFile(join(folder, t), 'utf8'), 'new');

    assert.equal((await storage.get('acme/example.com/cert.pem'))?.toString(), 'old');
    assert.equal(await storage.get('acme/example.com/new.pem'), undefined);
    assert.deepEqual(await storage.list(''), ['acme/example.com/cert.pem']);
    // A young temp file may belong to a put still in flight, so listing keeps it...
    assert.equal((await readdir(folder)).length, 3);
    // ...and removes it once it is old enough to be a crash's leftover.
    const old = new Date(Date.now() - TEMP_STALE_MS - 10_000);
    for (const t of temps) await utimes(join(folder, t), old, old);
    assert.deepEqual(await storage.list('acme/'), ['acme/example.com/cert.pem']);
    assert.deepEqual(await readdir(folder), ['cert.pem']);
  });

  it('a renewal SIGKILLed between the key and certificate writes leaves a loadable pair', { timeout: 60_000 }, async () => {
    const ca = await LocalCA.load(new FsStorage(join(dir, 'ca')));
    const [older, newer] = [await ca.issue(['kill.test']), await ca.issue(['kill.test'])];
    const storage = new FsStorage(root);
    // stored by an edge from before pair.pem, as on users' disks
    await storage.put('local/kill.test/key.pem', older.keyPem);
    await storage.put('local/kill.test/cert.pem', older.chainPem);
    // the process dies as its second value is about to replace the old one
    const c = child(`
      const { CertStore } = await import(${JSON.stringify(STORE_MODULE)});
      let renames = 0;
      const storage = new FsStorage(ROOT, { beforeRename: () => { if (++renames === 2) process.kill(process.pid, 'SIGKILL'); } });
      await new CertStore(storage, undefined).save({ name: 'kill.test', source: 'local' }, ${JSON.stringify({ certPem: newer.chainPem, keyPem: newer.keyPem })});`);
    await c.exited;
    assert.equal(c.stderr(), '');
    const loaded = await new CertStore(storage, undefined).load({ name: 'kill.test', source: 'local' });
    assert.ok(loaded, 'a certificate is loaded');
    assert.ok(new X509Certificate(loaded.certPem).checkPrivateKey(createPrivateKey(loaded.keyPem)), 'its key is the certificate\'s');
    assert.ok([older.chainPem.trim(), newer.chainPem.trim()].includes(loaded.certPem.trim()), 'the old pair or the new one');
  });

  it('a put sweeps old temp files from its folder', async () => {
    const storage = new FsStorage(root);
    await storage.put('a/one', '1');
    const leftover = join(root, 'a', '.tmp-leftover');
    await writeFile(leftover, 'half');
    const old = new Date(Date.now() - TEMP_STALE_MS - 10_000);
    await utimes(leftover, old, old);
    await storage.put('a/two', '2');
    assert.deepEqual((await readdir(join(root, 'a'))).sort(), ['one', 'two']);
  });

  it('processes contending for one lock never hold it at the same time', { timeout: 60_000 }, async () => {
    const workers = Array.from({ length: 3 }, () => child(`
      const storage = new FsStorage(ROOT, { lockStaleMs: 2000, lockRefreshMs: 200 });
      for (let i = 0; i < 5; i++) {
        const lock = await storage.lock('shared');
        appendFileSync(LOG, 'start ' + process.pid + '\\n');
        await new Promise((r) => setTimeout(r, 20));
        appendFileSync(LOG, 'end ' + process.pid + '\\n');
        await lock.release();
      }`));
    for (const w of workers) assert.equal(await w.exited, 0, w.stderr());
    const lines = (await readFile(join(dir, 'log'), 'utf8')).trimEnd().split('\n');
    assert.equal(lines.length, 30);
    for (let i = 0; i < lines.length; i += 2) {
      const pid = lines[i]!.replace(/^start /, '');
      assert.notEqual(pid, lines[i], `line ${i} should be a start: ${lines[i]}`);
      assert.equal(lines[i + 1], `end ${pid}`, `lines interleaved at ${i}:\n${lines.join('\n')}`);
    }
  });

  it('takes over a lock whose holder was killed with SIGKILL', { timeout: 30_000 }, async () => {
    const holder = child(`
      await new FsStorage(ROOT, ${JSON.stringify(FAST)}).lock('renew');
      console.log('locked');
      setInterval(() => {}, 1000);`);
    await holder.printed('locked');
    const lockFile = join(root, 'locks', 'renew.lock');
    assert.equal(JSON.parse(await readFile(lockFile, 'utf8')).pid, holder.proc.pid);
    holder.proc.kill('SIGKILL');
    await holder.exited;

    const killed = Date.now();
    const lock = await new FsStorage(root, FAST).lock('renew', { waitMs: 10_000 });
    // Generous bound: the point is that a dead holder does not block for ever, not the speed.
    assert.ok(Date.now() - killed < 5_000);
    assert.equal(JSON.parse(await readFile(lockFile, 'utf8')).pid, process.pid);
    await lock.release();
  });

  it('does not steal a lock whose live holder keeps refreshing it', { timeout: 30_000 }, async () => {
    const holder = child(`
      const lock = await new FsStorage(ROOT, ${JSON.stringify(FAST)}).lock('renew');
      console.log('locked');
      await new Promise((r) => setTimeout(r, 4 * ${FAST.lockStaleMs}));
      appendFileSync(LOG, 'holder releasing\\n');
      await lock.release();`);
    await holder.printed('locked');
    const lock = await new FsStorage(root, FAST).lock('renew', { waitMs: 20_000 });
    assert.equal(await readFile(join(dir, 'log'), 'utf8'), 'holder releasing\n');
    await lock.release();
    assert.equal(await holder.exited, 0, holder.stderr());
  });

  it('a holder that lost its lock to a takeover leaves its successor\'s lock alone', async () => {
    // The first holder never beats within the stale time, as if its process had stalled.
    const stalled = await new FsStorage(root, { lockStaleMs: 300, lockRefreshMs: 60_000 }).lock('renew');
    const successor = await new FsStorage(root, { lockStaleMs: 300, lockRefreshMs: 50 }).lock('renew', { waitMs: 10_000 });
    await stalled.release();
    const third = new FsStorage(root, { lockStaleMs: 300, lockRefreshMs: 50 });
    await assert.rejects(() => third.lock('renew', { waitMs: 1000 }), LockTimeoutError);
    await successor.release();
    await (await third.lock('renew', { waitMs: 1000 })).release();
  });

  it('takes over a stale lock even if a waiter died while taking it over', async () => {
    // What a waiter killed inside the takeover leaves: the stale lock and its guard file.
    await mkdir(join(root, 'locks'), { recursive: true });
    const old = new Date(Date.now() - 60_000);
    for (const name of ['renew.lock', 'renew.lock.steal']) {
      await writeFile(join(root, 'locks', name), '{}');
      await utimes(join(root, 'locks', name), old, old);
    }
    const lock = await new FsStorage(root, FAST).lock('renew', { waitMs: 10_000 });
    assert.deepEqual(await readdir(join(root, 'locks')), ['renew.lock']);
    await lock.release();
  });

  it('a held lock does not keep its process alive', { timeout: 30_000 }, async () => {
    const holder = child(`
      await new FsStorage(ROOT, ${JSON.stringify(FAST)}).lock('renew');
      console.log('locked');`);
    await holder.printed('locked');
    await waitFor(() => holder.proc.exitCode !== null, 'the child to exit with its lock still held', 10_000);
    assert.equal(holder.proc.exitCode, 0, holder.stderr());
  });
});
