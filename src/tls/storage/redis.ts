// The Redis Storage, for a fleet of edge instances sharing certificates, keys, the ACME account,
// the failure ledger and pending challenges. Values are Redis strings under PREFIX + "k:" + key; a
// sorted set of key names (all score 0, so ordered by bytes) answers list() without SCAN, and is
// updated in the same MULTI as the value.
//
// Locks are the single-instance design of the Redis documentation's "Distributed locks with
// Redis" page: SET name token NX PX lease to take it; a Lua script that extends (PEXPIRE) or
// deletes the key only while it still holds this holder's random token, so a holder whose lease
// ran out never touches its successor's lock. The holder extends every lease/3 while it works; a
// holder that dies stops extending and its lock expires after one lease.
//
// When Redis is unreachable, commands fail fast with StorageUnavailableError (no offline queue: a
// write must never be replayed late, after a successor has moved on), and status listeners hear
// of the outage once and of the recovery once.

import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { createRequire } from 'node:module';
import type { Redis, RedisOptions } from 'ioredis';
import { checkKey, LockTimeoutError, StorageKeyError, type Lock, type Storage } from './storage.ts';
import { connectionOptions, type RedisSettings } from './redis-url.ts';

// Loaded on first use: an edge on filesystem storage does not pay for the client at start.
const require = createRequire(import.meta.url);
let RedisClient: typeof Redis | undefined;
function client(options: RedisOptions): Redis {
  RedisClient ??= (require('ioredis') as { Redis: typeof Redis }).Redis;
  return new RedisClient(options);
}

/** How long a lock outlives its holder's last extension. */
export const LOCK_LEASE_MS = 10_000;
/** How long a command waits for a connection that is being (re)established before failing. */
const READY_WAIT_MS = 2_000;
/** A Redis that accepts the connection but does not answer (stopped, swapping) fails commands after this. */
const COMMAND_TIMEOUT_MS = 5_000;

const EXTEND = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end`;
const RELEASE = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`;

export class StorageUnavailableError extends Error {
  readonly code = 'ESTORAGEDOWN';
  constructor(where: string, reason: string) {
    super(`storage ${where} is unreachable (${reason})`);
    this.name = 'StorageUnavailableError';
  }
}

export interface RedisStatus {
  up: boolean;
  /** Why it is down, e.g. "connect ECONNREFUSED 127.0.0.1:6390". */
  reason?: string;
}

export interface RedisStorageOptions {
  leaseMs?: number;
}

type Commands = Redis & {
  edgeExtend(key: string, token: string, ms: number): Promise<number>;
  edgeRelease(key: string, token: string): Promise<number>;
};

export class RedisStorage implements Storage {
  readonly description: string;
  readonly leaseMs: number;
  readonly #client: Commands;
  readonly #prefix: string;
  readonly #options: RedisOptions;
  readonly #statusListeners: ((status: RedisStatus) => void)[] = [];
  readonly #subscribers: Redis[] = [];
  #up = false;
  #lastError = 'not connected yet';
  #closed = false;
  #readyWait: Promise<boolean> | undefined;

  constructor(settings: RedisSettings, opts: RedisStorageOptions = {}) {
    this.description = settings.display;
    this.leaseMs = opts.leaseMs ?? LOCK_LEASE_MS;
    this.#prefix = settings.prefix;
    this.#options = {
      ...connectionOptions(settings),
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: COMMAND_TIMEOUT_MS,
      connectTimeout: 3_000,
      // reconnect for ever, quickly at first, then every 2 s
      retryStrategy: (times) => Math.min(100 * times, 2_000),
    };
    this.#client = client(this.#options) as Commands;
    this.#client.defineCommand('edgeExtend', { numberOfKeys: 1, lua: EXTEND });
    this.#client.defineCommand('edgeRelease', { numberOfKeys: 1, lua: RELEASE });
    this.#client.on('ready', () => this.#setUp(true));
    this.#client.on('error', (err: Error) => this.#setUp(false, err.message));
    this.#client.on('close', () => this.#setUp(false, this.#lastError === 'not connected yet' ? 'connection closed' : this.#lastError));
  }

  /** Hears each change between reachable and unreachable (not every failed reconnection). */
  onStatus(listener: (status: RedisStatus) => void): void {
    this.#statusListeners.push(listener);
  }

  get available(): boolean {
    return this.#up;
  }

  async get(key: string): Promise<Buffer | undefined> {
    checkKey(key);
    const client = await this.#ready();
    return (await client.getBuffer(this.#dataKey(key))) ?? undefined;
  }

  async put(key: string, value: Buffer | string): Promise<void> {
    checkKey(key);
    const client = await this.#ready();
    check(await client.multi().set(this.#dataKey(key), value).zadd(this.#indexKey(), 0, key).exec());
  }

  async delete(key: string): Promise<void> {
    checkKey(key);
    const client = await this.#ready();
    check(await client.multi().del(this.#dataKey(key)).zrem(this.#indexKey(), key).exec());
  }

  async list(prefix: string): Promise<string[]> {
    // the same rules as the filesystem store: a folder path, then the start of a name
    const cut = prefix.lastIndexOf('/') + 1;
    if (cut > 0) checkKey(prefix.slice(0, cut - 1));
    if (prefix.includes('\\') || prefix.includes('\0')) throw new StorageKeyError(prefix);
    const client = await this.#ready();
    // 0xff never occurs in UTF-8, so "[prefix" .. "[prefix\xff" is every key starting with prefix
    const keys = prefix === ''
      ? await client.zrangebylex(this.#indexKey(), '-', '+')
      : await client.zrangebylex(this.#indexKey(), Buffer.from(`[${prefix}`) as unknown as string, Buffer.concat([Buffer.from(`[${prefix}`), Buffer.from([0xff])]) as unknown as string);
    return keys.sort();
  }

  async lock(name: string, opts: { waitMs?: number } = {}): Promise<Lock> {
    const { waitMs } = opts;
    const key = `${this.#prefix}lock:${name}`;
    const started = Date.now();
    for (;;) {
      const token = randomBytes(16).toString('hex');
      const client = await this.#ready();
      if ((await client.set(key, token, 'PX', this.leaseMs, 'NX')) === 'OK') return new RedisLock(name, key, token, this);
      const left = waitMs === undefined ? Infinity : started + waitMs - Date.now();
      if (left <= 0) throw new LockTimeoutError(name, waitMs!);
      // jitter spreads waiters out: 250-1000 ms with the default lease
      await sleep(Math.min(left, (this.leaseMs / 40) * (1 + 3 * Math.random())));
    }
  }

  /** Tells every instance subscribed to this storage's events (pub/sub: delivered only to those connected now). */
  async publish(message: string): Promise<void> {
    const client = await this.#ready();
    await client.publish(this.#channel(), message);
  }

  /** Calls `handler` with each published message; resubscribes by itself after an outage. */
  subscribe(handler: (message: string) => void): void {
    const sub = client({ ...this.#options, enableOfflineQueue: true, maxRetriesPerRequest: null, commandTimeout: undefined });
    // its outages are the main connection's outages: reported there once
    sub.on('error', () => {});
    sub.on('message', (channel: string, message: string) => {
      if (channel === this.#channel()) handler(message);
    });
    void sub.subscribe(this.#channel()).catch(() => {});
    this.#subscribers.push(sub);
  }

  close(): void {
    this.#closed = true;
    for (const c of [this.#client, ...this.#subscribers]) c.disconnect();
  }

  /** @internal for RedisLock */
  async extend(key: string, token: string): Promise<boolean> {
    const client = await this.#ready();
    return (await client.edgeExtend(key, token, this.leaseMs)) === 1;
  }

  /** @internal for RedisLock */
  async unlock(key: string, token: string): Promise<void> {
    const client = await this.#ready();
    await client.edgeRelease(key, token);
  }

  #dataKey(key: string): string {
    return `${this.#prefix}k:${key}`;
  }

  #indexKey(): string {
    return `${this.#prefix}keys`;
  }

  #channel(): string {
    return `${this.#prefix}events`;
  }

  /** The client once it is connected, waiting briefly (one shared wait) for a reconnection under way. */
  async #ready(): Promise<Commands> {
    if (this.#client.status === 'ready') return this.#client;
    if (this.#closed) throw new StorageUnavailableError(this.description, 'closed');
    this.#readyWait ??= new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => {
        this.#client.off('ready', onReady);
        resolve(false);
      }, READY_WAIT_MS);
      const onReady = () => {
        clearTimeout(timer);
        resolve(true);
      };
      this.#client.once('ready', onReady);
    }).finally(() => (this.#readyWait = undefined));
    if (!(await this.#readyWait)) throw new StorageUnavailableError(this.description, this.#lastError);
    return this.#client;
  }

  #setUp(up: boolean, reason?: string): void {
    if (reason !== undefined) this.#lastError = reason;
    if (up === this.#up || this.#closed) return;
    this.#up = up;
    for (const l of this.#statusListeners) l(up ? { up } : { up, reason: this.#lastError });
  }
}

class RedisLock implements Lock {
  readonly name: string;
  readonly #key: string;
  readonly #token: string;
  readonly #storage: RedisStorage;
  #timer: NodeJS.Timeout | undefined;
  #released: Promise<void> | undefined;

  constructor(name: string, key: string, token: string, storage: RedisStorage) {
    this.name = name;
    this.#key = key;
    this.#token = token;
    this.#storage = storage;
    this.#schedule();
  }

  release(): Promise<void> {
    this.#released ??= this.#release();
    return this.#released;
  }

  #schedule(): void {
    // unref'd: holding a lock must never keep the process alive
    this.#timer = setTimeout(() => void this.#extend(), this.#storage.leaseMs / 3).unref();
  }

  async #extend(): Promise<void> {
    let mine = true;
    try {
      mine = await this.#storage.extend(this.#key, this.#token);
    } catch {
      // Redis unreachable: try again at the next beat; if the lease runs out meanwhile it is lost
    }
    if (mine && this.#released === undefined) this.#schedule();
  }

  async #release(): Promise<void> {
    clearTimeout(this.#timer);
    try {
      await this.#storage.unlock(this.#key, this.#token);
    } catch {
      // unreachable: the lease expires by itself, and the token check keeps it from freeing a successor
    }
  }
}

/** A MULTI's replies: throws the first command error (a MULTI is all or nothing only for syntax errors). */
function check(replies: [Error | null, unknown][] | null): void {
  if (replies === null) throw new Error('Redis transaction aborted');
  for (const [err] of replies) if (err) throw err;
}
