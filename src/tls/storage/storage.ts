// The storage interface for certificates, keys, ACME accounts, the failure ledger and pending
// challenges. Callers see keys and bytes only, so the filesystem store and a Redis store (for
// fleets) are interchangeable. Keys are "/"-separated relative paths, e.g.
// "acme-v02.api.letsencrypt.org-directory/example.com/cert.pem".

export interface Storage {
  /** Where the data lives, for logs and `edge certs`: "./certs", "redis://host:6379/0". */
  readonly description: string;
  /** The value under `key`, or undefined if there is none. */
  get(key: string): Promise<Buffer | undefined>;
  /**
   * Stores `value` atomically: a reader, or a process that crashed mid-write, sees the old value
   * or the new one, never a mix. Values are readable by the owner only (mode 0600 on disk), but
   * for `public` ones.
   */
  put(key: string, value: Buffer | string, opts?: PutOptions): Promise<void>;
  /** Removes `key`; no error if it is absent. */
  delete(key: string): Promise<void>;
  /** Every key that starts with `prefix` (a folder path such as "acme/example.com/"), sorted. */
  list(prefix: string): Promise<string[]>;
  /**
   * An exclusive lock on `name` shared by every process using this storage. Waits while another
   * holder is alive; a holder that died is detected (its lease is not renewed) and taken over.
   * Rejects with LockTimeoutError after `waitMs` (default: wait for ever).
   */
  lock(name: string, opts?: { waitMs?: number }): Promise<Lock>;
  /** Lets go of connections (a network store); the filesystem store holds none. */
  close?(): void;
}

export interface PutOptions {
  /** Meant to be copied to others (the local CA's root certificate): mode 0644, whatever the umask. */
  public?: boolean;
}

export interface Lock {
  readonly name: string;
  /** Gives the lock up; safe to call twice. */
  release(): Promise<void>;
}

export class LockTimeoutError extends Error {
  readonly code = 'ELOCKTIMEOUT';
  constructor(name: string, waitMs: number) {
    super(`lock "${name}" still held by another process after ${waitMs} ms`);
    this.name = 'LockTimeoutError';
  }
}

export class StorageKeyError extends Error {
  readonly code = 'EBADKEY';
  constructor(key: string) {
    super(`bad storage key "${key}": relative "/"-separated names only, no "." or ".." parts`);
    this.name = 'StorageKeyError';
  }
}

/** Keys are relative paths of plain names; anything that could escape the store is refused. */
export function checkKey(key: string): void {
  if (key === '' || key.startsWith('/') || key.includes('\\') || key.includes('\0')) throw new StorageKeyError(key);
  for (const part of key.split('/')) {
    if (part === '' || part === '.' || part === '..') throw new StorageKeyError(key);
  }
}
