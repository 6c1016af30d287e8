// RedisStorage against a real redis-server: the shared Storage conformance suite (over TCP, a Unix
// socket and TLS with rediss://), a TLS server whose root is not given refused with the reason, then what only the Redis store promises: lock leases across processes (a holder
// killed with SIGKILL, a live holder extending, a stalled holder that lost its lease), and an
// outage (fast failures, one status change each way, nothing lost).

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { RedisStorage, StorageUnavailableError, type RedisStatus } from '../../src/tls/storage/redis.ts';
import { parseRedisUrl } from '../../src/tls/storage/redis-url.ts';
import { LockTimeoutError } from '../../src/tls/storage/storage.ts';
import { storageConformance } from '../helpers/storage-conformance.ts';
import { startRedis, type RedisServer } from '../helpers/redis.ts';
import { waitFor } from '../helpers/edge.ts';

const REDIS_MODULE = new URL('../../src/tls/storage/redis.ts', import.meta.url).href;
const URL_MODULE = new URL('../../src/tls/storage/redis-url.ts', import.meta.url).href;

let redis: RedisServer;
before(async () => {
  redis = await startRedis();
});
after(async () => {
  await redis?.destroy();
});

/** A store with its own key prefix, so tests never see each other's keys. */
function fresh(url: string, leaseMs?: number): RedisStorage {
  const sep = url.includes('?') ? '&' : '?';
  return new RedisStorage(parseRedisUrl(`${url}${sep}prefix=t${randomBytes(4).toString('hex')}:`), { leaseMs });
}

for (const via of ['TCP', 'a Unix socket']) {
  storageConformance(`RedisStorage over ${via}`, async () => {
    const storage = fresh(via === 'TCP' ? redis.url : redis.unixUrl);
    return { storage, cleanup: async () => storage.close() };
  });
}

describe('rediss://', () => {
  let secure: RedisServer;
  before(async () => {
    secure = await startRedis({ tls: true });
  });
  after(async () => {
    await secure?.destroy();
  });

  storageConformance('RedisStorage over TLS, trusting the server\'s root through ?ca=', async () => {
    const storage = fresh(secure.url);
    return { storage, cleanup: async () => storage.close() };
  });

  it('without the root to trust, fails with the certificate error, not a hang', { timeout: 30_000 }, async () => {
    const storage = new RedisStorage(parseRedisUrl(`rediss://127.0.0.1:${secure.port}/0?prefix=untrusted:`));
    try {
      await assert.rejects(storage.get('anything'), (err: unknown) => err instanceof StorageUnavailableError
        && /^storage rediss:\/\/127\.0\.0\.1:\d+\/0\?prefix=untrusted: is unreachable \(.*certificate/.test((err as Error).message));
    } finally {
      await storage.close();
    }
  });
});

interface Child {
  proc: ChildProcess;
  exited: Promise<number | null>;
  printed(line: string): Promise<void>;
  stderr(): string;
}

describe('RedisStorage locks and outages', () => {
  const children: Child[] = [];
  after(() => {
    for (const c of children) if (c.proc.exitCode === null && c.proc.signalCode === null) c.proc.kill('SIGKILL');
  });

  /** Runs `body` in a new Node process with `storage` (prefix `prefix`, lease `leaseMs`) in scope. */
  function child(prefix: string, leaseMs: number, body: string): Child {
    const script = `import { RedisStorage } from ${JSON.stringify(REDIS_MODULE)};
      import { parseRedisUrl } from ${JSON.stringify(URL_MODULE)};
      const storage = new RedisStorage(parseRedisUrl(${JSON.stringify(`${redis.url}?prefix=${prefix}`)}), { leaseMs: ${leaseMs} });
      ${body}`;
    const proc = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    proc.stdout!.on('data', (d: Buffer) => (out += d));
    proc.stderr!.on('data', (d: Buffer) => (err += d));
    const c: Child = {
      proc,
      exited: new Promise((resolve) => proc.on('exit', (code) => resolve(code))),
      printed: (line) => waitFor(() => out.split('\n').includes(line), () => `the child to print "${line}": ${err}`, 10_000),
      stderr: () => err,
    };
    children.push(c);
    return c;
  }

  it('takes over a lock within one lease after its holder is killed with SIGKILL', { timeout: 30_000 }, async () => {
    const prefix = `k${randomBytes(4).toString('hex')}:`;
    const holder = child(prefix, 1000, `await storage.lock('issue-x'); console.log('locked'); setInterval(() => {}, 1000);`);
    await holder.printed('locked');
    const storage = new RedisStorage(parseRedisUrl(`${redis.url}?prefix=${prefix}`), { leaseMs: 1000 });
    // alive, it extends its lease: no one else gets the lock in three leases
    await assert.rejects(() => storage.lock('issue-x', { waitMs: 3000 }), LockTimeoutError);
    holder.proc.kill('SIGKILL');
    await holder.exited;
    const killed = Date.now();
    const lock = await storage.lock('issue-x', { waitMs: 10_000 });
    // one lease (1 s) plus a poll interval; generous for a loaded machine
    assert.ok(Date.now() - killed < 4000, `took ${Date.now() - killed} ms`);
    await lock.release();
    storage.close();
  });

  it('a holder stalled past its lease loses the lock, and its release leaves the successor\'s lock alone', { timeout: 30_000 }, async () => {
    const prefix = `s${randomBytes(4).toString('hex')}:`;
    const holder = child(prefix, 600, `
      const lock = await storage.lock('renew');
      console.log('locked');
      process.stdin.resume();
      process.on('SIGUSR2', async () => { await lock.release(); console.log('released'); });`);
    await holder.printed('locked');
    holder.proc.kill('SIGSTOP');
    const successorStore = new RedisStorage(parseRedisUrl(`${redis.url}?prefix=${prefix}`), { leaseMs: 600 });
    const successor = await successorStore.lock('renew', { waitMs: 10_000 });
    holder.proc.kill('SIGCONT');
    holder.proc.kill('SIGUSR2');
    await holder.printed('released');
    await assert.rejects(() => successorStore.lock('renew', { waitMs: 1500 }), LockTimeoutError);
    await successor.release();
    await (await successorStore.lock('renew', { waitMs: 1000 })).release();
    successorStore.close();
  });

  it('while Redis is down: commands fail fast, one status change each way, nothing lost', { timeout: 60_000 }, async () => {
    const storage = fresh(redis.url);
    await storage.put('acme/example.com/cert.pem', 'kept');
    const statuses: RedisStatus[] = [];
    storage.onStatus((s) => statuses.push(s));
    await redis.stop();
    await waitFor(() => statuses.length === 1, 'the outage to be seen');
    assert.equal(statuses[0]!.up, false);
    assert.match(statuses[0]!.reason!, /ECONNREFUSED|closed/);
    const started = Date.now();
    await assert.rejects(() => storage.get('acme/example.com/cert.pem'), (err: unknown) => {
      assert.ok(err instanceof StorageUnavailableError);
      assert.equal(err.code, 'ESTORAGEDOWN');
      return true;
    });
    await assert.rejects(() => storage.lock('x'), StorageUnavailableError);
    assert.ok(Date.now() - started < 10_000);
    // reconnection attempts keep failing for a while: still one status change
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(statuses.length, 1);
    await redis.start();
    await waitFor(() => statuses.length === 2, 'the recovery to be seen', 10_000);
    assert.equal(statuses[1]!.up, true);
    assert.equal((await storage.get('acme/example.com/cert.pem'))?.toString(), 'kept');
    assert.deepEqual(await storage.list(''), ['acme/example.com/cert.pem']);
    await (await storage.lock('x', { waitMs: 1000 })).release();
    storage.close();
  });

  it('publishes to every subscriber, and resubscribes after an outage', { timeout: 60_000 }, async () => {
    const a = fresh(redis.url);
    const heard: string[] = [];
    const b = new RedisStorage(parseRedisUrl(`${redis.url}?prefix=${a.description.split('prefix=')[1]}`));
    b.subscribe((m) => heard.push(m));
    await waitFor(() => b.available, 'b up');
    await new Promise((r) => setTimeout(r, 200));
    await a.publish('one');
    await waitFor(() => heard.includes('one'), 'the first message');
    await redis.stop();
    await redis.start();
    await waitFor(() => a.available, 'a up again', 10_000);
    // the subscription comes back by itself; publish until it is heard (bounded)
    const deadline = Date.now() + 10_000;
    while (!heard.includes('two') && Date.now() < deadline) {
      await a.publish('two');
      await new Promise((r) => setTimeout(r, 200));
    }
    assert.ok(heard.includes('two'));
    a.close();
    b.close();
  });
});
