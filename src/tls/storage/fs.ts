// The filesystem Storage: one file per key under a root directory such as ./certs, readable by the
// owner only (public values, such as the local CA's root certificate, by anyone). Writes are
// atomic and durable (temp file, fsync, rename, fsync of the directory), so a crash leaves the old
// value or the new one. Locks follow certmagic: an exclusive lock file whose mtime a heartbeat
// keeps fresh; a file nobody refreshes for LOCK_STALE_MS belongs to a dead holder and is taken
// over. The store keeps two kinds of names for itself, the top-level "locks" folder and names
// starting with ".tmp-"; keys using them are refused so neither is mistaken for data.

import { mkdir, open, readdir, readFile, rename, stat, unlink, type FileHandle } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { checkKey, LockTimeoutError, StorageKeyError, type Lock, type PutOptions, type Storage } from './storage.ts';
import { prepareFolder } from './fs-root.ts';

/** A lock file whose mtime is older than this belongs to a holder that died. */
export const LOCK_STALE_MS = 10_000;
/** How often a holder touches its lock file; well inside LOCK_STALE_MS so a slow disk is no threat. */
export const LOCK_REFRESH_MS = 5_000;
/** A temp file this old was left by a crashed put (a live put renames it within milliseconds). */
export const TEMP_STALE_MS = 60_000;

const TEMP_PREFIX = '.tmp-';
const LOCKS_DIR = 'locks';

export interface FsStorageOptions {
  lockStaleMs?: number;
  lockRefreshMs?: number;
  /**
   * Test hook: called after the temp file is written and synced, before it is renamed over the key,
   * so a test can end the process there and check that the crash leaves the old value.
   */
  beforeRename?: (tempPath: string) => void;
}

export class ReservedKeyError extends StorageKeyError {
  constructor(key: string) {
    super(key);
    this.name = 'ReservedKeyError';
    this.message = `storage key "${key}" uses a name the filesystem store keeps for itself ("${LOCKS_DIR}/..." or "${TEMP_PREFIX}...")`;
  }
}

export class FsStorage implements Storage {
  readonly description: string;
  readonly #root: string;
  readonly #staleMs: number;
  readonly #refreshMs: number;
  readonly #beforeRename: ((tempPath: string) => void) | undefined;

  constructor(root: string, opts: FsStorageOptions = {}) {
    this.description = root;
    this.#root = resolve(root);
    this.#staleMs = opts.lockStaleMs ?? LOCK_STALE_MS;
    this.#refreshMs = opts.lockRefreshMs ?? LOCK_REFRESH_MS;
    this.#beforeRename = opts.beforeRename;
    prepareFolder(root, this.#root);
  }

  async get(key: string): Promise<Buffer | undefined> {
    try {
      return await readFile(this.#path(key));
    } catch (err) {
      // A folder, or a path through a file, is a key nobody stored, as in a flat key-value store.
      if (isCode(err, 'ENOENT', 'ENOTDIR', 'EISDIR')) return undefined;
      throw err;
    }
  }

  async put(key: string, value: Buffer | string, opts: PutOptions = {}): Promise<void> {
    const path = this.#path(key);
    const dir = dirname(path);
    const made = await mkdir(dir, { recursive: true, mode: 0o700 });
    const temp = join(dir, TEMP_PREFIX + randomBytes(8).toString('hex'));
    const fh = await open(temp, 'wx', 0o600);
    try {
      try {
        // chmod, unlike open's mode, is not cut by the umask (the systemd unit's UMask=0077)
        if (opts.public) await fh.chmod(0o644);
        await fh.writeFile(value);
        await fh.sync();
      } finally {
        await fh.close();
      }
      this.#beforeRename?.(temp);
      await rename(temp, path);
    } catch (err) {
      await unlinkIfPresent(temp);
      throw err;
    }
    // The rename lasts only once its directory entry is on disk, and so do folders made just now.
    const top = made === undefined ? dir : dirname(made);
    for (let d = dir; ; d = dirname(d)) {
      await syncDir(d);
      if (d === top || d === dirname(d)) break;
    }
    await this.#sweep(dir, await readdir(dir));
  }

  async delete(key: string): Promise<void> {
    try {
      await unlink(this.#path(key));
    } catch (err) {
      if (!isCode(err, 'ENOENT', 'ENOTDIR', 'EISDIR')) throw err;
    }
  }

  async list(prefix: string): Promise<string[]> {
    // The prefix is a folder path plus the start of a name; only the folder part becomes a path.
    const cut = prefix.lastIndexOf('/') + 1;
    const folder = prefix.slice(0, cut);
    const start = prefix.slice(cut);
    if (folder !== '') this.#path(folder.slice(0, -1));
    if (start.includes('\\') || start.includes('\0')) throw new StorageKeyError(prefix);
    const keys: string[] = [];
    await this.#walk(folder, start, keys);
    return keys.sort();
  }

  async lock(name: string, opts: { waitMs?: number } = {}): Promise<Lock> {
    const path = join(this.#root, LOCKS_DIR, `${lockFileName(name)}.lock`);
    const { waitMs } = opts;
    const started = Date.now();
    await mkdir(dirname(path), { recursive: true, mode: 0o700 });
    for (;;) {
      const fh = await createLockFile(path);
      if (fh !== undefined) return new FsLock(name, path, fh, this.#refreshMs);
      if (await this.#takeOverIfStale(path)) continue;
      const left = waitMs === undefined ? Infinity : started + waitMs - Date.now();
      if (waitMs !== undefined && left <= 0) throw new LockTimeoutError(name, waitMs);
      // Jitter spreads waiters out; 250-1000 ms with the default stale time.
      const poll = (this.#staleMs / 40) * (1 + 3 * Math.random());
      await sleep(Math.min(left, poll));
    }
  }

  /** The file for `key`, after refusing bad and reserved keys. */
  #path(key: string): string {
    checkKey(key);
    const parts = key.split('/');
    if (parts[0] === LOCKS_DIR || parts.some((p) => p.startsWith(TEMP_PREFIX))) throw new ReservedKeyError(key);
    return join(this.#root, ...parts);
  }

  async #walk(folder: string, start: string, keys: string[]): Promise<void> {
    const dir = join(this.#root, folder);
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (err) {
      if (isCode(err, 'ENOENT', 'ENOTDIR')) return;
      throw err;
    }
    await this.#sweep(dir, entries.map((e) => e.name));
    for (const e of entries) {
      if (!e.name.startsWith(start) || e.name.startsWith(TEMP_PREFIX)) continue;
      if (folder === '' && e.name === LOCKS_DIR) continue;
      const key = folder + e.name;
      if (e.isDirectory()) await this.#walk(`${key}/`, '', keys);
      else if (e.isFile()) keys.push(key);
    }
  }

  /** Removes temp files that crashed puts left in `dir`. */
  async #sweep(dir: string, names: string[]): Promise<void> {
    for (const name of names) {
      if (!name.startsWith(TEMP_PREFIX)) continue;
      const path = join(dir, name);
      const age = await ageOf(path);
      if (age !== undefined && age > TEMP_STALE_MS) await unlinkIfPresent(path);
    }
  }

  /**
   * Removes the lock file at `path` if its holder stopped refreshing it; true when the caller should
   * try to create it again now. Two waiters may both see the same stale file: if both removed it,
   * the second could remove the fresh lock the first had just created. So removal happens under a
   * guard file created exclusively, and the age is checked again inside.
   */
  async #takeOverIfStale(path: string): Promise<boolean> {
    const age = await ageOf(path);
    if (age === undefined) return true;
    if (age <= this.#staleMs) return false;
    const guard = `${path}.steal`;
    let fh: FileHandle;
    try {
      fh = await open(guard, 'wx', 0o600);
    } catch (err) {
      if (!isCode(err, 'EEXIST')) throw err;
      // A waiter that died inside the guarded section leaves its guard behind.
      const guardAge = await ageOf(guard);
      if (guardAge !== undefined && guardAge > this.#staleMs) await unlinkIfPresent(guard);
      return false;
    }
    try {
      const now = await ageOf(path);
      if (now !== undefined && now > this.#staleMs) await unlinkIfPresent(path);
    } finally {
      await fh.close();
      await unlinkIfPresent(guard);
    }
    return true;
  }
}

class FsLock implements Lock {
  readonly name: string;
  readonly #path: string;
  readonly #fh: FileHandle;
  readonly #refreshMs: number;
  #timer: NodeJS.Timeout | undefined;
  #released: Promise<void> | undefined;

  constructor(name: string, path: string, fh: FileHandle, refreshMs: number) {
    this.name = name;
    this.#path = path;
    this.#fh = fh;
    this.#refreshMs = refreshMs;
    this.#schedule();
  }

  release(): Promise<void> {
    this.#released ??= this.#release();
    return this.#released;
  }

  #schedule(): void {
    // Unref'd: holding a lock must never keep the process alive.
    this.#timer = setTimeout(() => void this.#refresh(), this.#refreshMs).unref();
  }

  async #refresh(): Promise<void> {
    // Through the open handle, so a holder that lost its lock while stalled touches its own old
    // file, never the one its successor created. A failed touch is retried at the next beat.
    const now = new Date();
    await this.#fh.utimes(now, now).catch(() => {});
    if (this.#released === undefined) this.#schedule();
  }

  async #release(): Promise<void> {
    clearTimeout(this.#timer);
    try {
      // The lock file is still ours if it is the inode we hold open (not reusable while open). It
      // was refreshed until now, so nobody can judge it stale between this check and the unlink.
      const [mine, current] = await Promise.all([this.#fh.stat({ bigint: true }), stat(this.#path, { bigint: true })]);
      if (mine.ino === current.ino && mine.dev === current.dev) await unlinkIfPresent(this.#path);
    } catch (err) {
      if (!isCode(err, 'ENOENT')) throw err;
    } finally {
      await this.#fh.close();
    }
  }
}

/** Creates the lock file exclusively; undefined if another holder has it. */
async function createLockFile(path: string): Promise<FileHandle | undefined> {
  let fh: FileHandle;
  try {
    fh = await open(path, 'wx', 0o600);
  } catch (err) {
    if (isCode(err, 'EEXIST')) return undefined;
    throw err;
  }
  try {
    // Who holds it, for a person looking at a stuck lock; only the mtime matters to the code.
    await fh.writeFile(JSON.stringify({ pid: process.pid, hostname: hostname(), created: new Date().toISOString() }));
    return fh;
  } catch (err) {
    await fh.close();
    await unlinkIfPresent(path);
    throw err;
  }
}

/** Lock names are free text ("issue/example.com"); percent-encoding keeps them distinct and file-safe. */
function lockFileName(name: string): string {
  return encodeURIComponent(name).replace(/[!'()*~]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** Milliseconds since `path` was last modified, or undefined if it does not exist. */
async function ageOf(path: string): Promise<number | undefined> {
  try {
    return Date.now() - (await stat(path)).mtimeMs;
  } catch (err) {
    if (isCode(err, 'ENOENT')) return undefined;
    throw err;
  }
}

async function syncDir(dir: string): Promise<void> {
  // Windows cannot open a directory to fsync it.
  if (process.platform === 'win32') return;
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

async function unlinkIfPresent(path: string): Promise<void> {
  try {
    await unlink(path);
  } catch (err) {
    if (!isCode(err, 'ENOENT')) throw err;
  }
}

function isCode(err: unknown, ...codes: string[]): boolean {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  return code !== undefined && codes.includes(code);
}
