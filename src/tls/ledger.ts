// The failure ledger: consecutive failed issuance attempts per certificate and CA, kept in
// Storage so that a restart (or a crash loop) resumes the backoff instead of hammering the CA.
// One small JSON document per key; the caller picks the key, e.g. `${caFolder}/${name}/ledger.json`.

import type { Storage } from './storage/storage.ts';
import { retryDelay } from './renewal.ts';

export interface LedgerEntry {
  /** Consecutive failures since the last success; 0 when there is no record. */
  failures: number;
  lastError?: string;
  /** ISO 8601. */
  lastAttempt?: string;
  /** ISO 8601: no attempt before this. */
  nextAttempt?: string;
}

/** True when the ledger lets an attempt start at `now`. */
export function mayAttempt(entry: LedgerEntry, now: Date): boolean {
  return entry.nextAttempt === undefined || now.getTime() >= Date.parse(entry.nextAttempt);
}

/**
 * Reads and writes ledger entries. Updates are read-modify-write, so the caller holds the
 * certificate's storage lock (which it takes to issue anyway) around recordFailure and
 * recordSuccess.
 */
export class Ledger {
  readonly #storage: Storage;
  readonly #warn: (message: string) => void;

  /** `warn` hears about unreadable entries, which are then treated as no record. */
  constructor(storage: Storage, warn: (message: string) => void = () => {}) {
    this.#storage = storage;
    this.#warn = warn;
  }

  async get(key: string): Promise<LedgerEntry> {
    const raw = await this.#storage.get(key);
    if (raw === undefined) return { failures: 0 };
    let json: unknown;
    try {
      json = JSON.parse(raw.toString('utf8'));
    } catch {
      json = undefined;
    }
    const entry = toEntry(json);
    if (entry) return entry;
    // Forgetting the backoff costs at most one early retry; refusing to renew would cost an outage.
    this.#warn(`failure ledger ${key} in ${this.#storage.description} is unreadable; starting it afresh`);
    return { failures: 0 };
  }

  /** Counts one more failure and schedules the next attempt on the retry ladder. */
  async recordFailure(key: string, error: string, now: Date, retryAfterMs?: number): Promise<LedgerEntry> {
    const failures = (await this.get(key)).failures + 1;
    const entry: LedgerEntry = {
      failures,
      lastError: error,
      lastAttempt: now.toISOString(),
      nextAttempt: new Date(now.getTime() + retryDelay(failures, retryAfterMs)).toISOString(),
    };
    await this.#storage.put(key, `${JSON.stringify(entry, null, 2)}\n`);
    return entry;
  }

  async recordSuccess(key: string): Promise<void> {
    await this.#storage.delete(key);
  }
}

/** The entry if `json` has the ledger's shape, else undefined: a half-valid entry is not trusted. */
function toEntry(json: unknown): LedgerEntry | undefined {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return undefined;
  const { failures, lastError, lastAttempt, nextAttempt } = json as Record<string, unknown>;
  if (!Number.isInteger(failures) || (failures as number) < 0) return undefined;
  if (lastError !== undefined && typeof lastError !== 'string') return undefined;
  if (!isTimeOrAbsent(lastAttempt) || !isTimeOrAbsent(nextAttempt)) return undefined;
  const entry: LedgerEntry = { failures: failures as number };
  if (lastError !== undefined) entry.lastError = lastError;
  if (lastAttempt !== undefined) entry.lastAttempt = lastAttempt as string;
  if (nextAttempt !== undefined) entry.nextAttempt = nextAttempt as string;
  return entry;
}

function isTimeOrAbsent(value: unknown): boolean {
  return value === undefined || (typeof value === 'string' && !Number.isNaN(Date.parse(value)));
}
