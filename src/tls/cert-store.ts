// Where managed certificates live in storage: a folder per name under the CA that issued them
// (the ACME directory's id, or "local"), holding pair.pem (the chain, then its private key) and
// the attempt ledger, and the lock name that makes one process at a time obtain a name's
// certificate. The pair is one value so that one atomic put replaces both halves: a crash, or a
// reader in another instance, sees the old pair or the new one, never a new key with an old
// certificate. Folders written before that hold cert.pem and key.pem: still read, and replaced by
// pair.pem at the next write. A stored pair that cannot be served is set aside, never deleted.

import type { Logger } from '../ops/log.ts';
import { LockTimeoutError, type Storage } from './storage/storage.ts';
import { CertificatePairError, describeCertificate, type ServedCertificate } from './context.ts';
import { nameFolder, type CertSource } from './plan.ts';

const PAIR = 'pair.pem';
/** The layout before pair.pem: two values, written one after the other. */
const OLD_CERT = 'cert.pem';
const OLD_KEY = 'key.pem';
const PRIVATE_KEY = /-----BEGIN ([A-Z0-9 ]*)PRIVATE KEY-----[\s\S]*?-----END \1PRIVATE KEY-----\r?\n?/;

/** What the store needs to know of a managed certificate. */
export interface Stored {
  name: string;
  source: CertSource['kind'];
}

export interface Issued {
  certPem: string;
  keyPem: string;
}

/** What storage holds for a name: nothing, a pair that can be served, or one that cannot. */
export type Reading =
  | { kind: 'none' }
  | { kind: 'good'; cert: ServedCertificate }
  | { kind: 'bad'; problem: string; found: { key: string; value: Buffer }[] };

export class CertStore {
  readonly storage: Storage;
  private readonly acmeId: string | undefined;
  private readonly logger: Logger | undefined;
  private readonly onStored: ((name: string) => void) | undefined;

  /** Without a logger the store only reads (`edge certs list`). */
  constructor(storage: Storage, acmeId: string | undefined, logger?: Logger, onStored?: (name: string) => void) {
    this.storage = storage;
    this.acmeId = acmeId;
    this.logger = logger;
    this.onStored = onStored;
  }

  /**
   * The stored certificate, or undefined when there is none or it cannot be served: then it is set
   * aside (said in the log) and the name has no stored certificate. `locked`: the caller holds the
   * name's lock (setting aside takes it otherwise, so it never moves a pair another process is storing).
   */
  async load(c: Stored, opts: { locked?: boolean } = {}): Promise<ServedCertificate | undefined> {
    const reading = await this.inspect(c);
    if (reading.kind === 'good') return reading.cert;
    if (reading.kind === 'bad') await this.setAside(c, reading, opts.locked === true);
    return undefined;
  }

  /** What storage holds for `c`, changing nothing. */
  async inspect(c: Stored): Promise<Reading> {
    const folder = this.folder(c);
    const pairKey = `${folder}/${PAIR}`;
    const pair = await this.storage.get(pairKey);
    if (pair) {
      const found = [{ key: pairKey, value: pair }];
      const text = pair.toString('utf8');
      const key = PRIVATE_KEY.exec(text);
      if (!key) return { kind: 'bad', problem: 'it holds no private key', found };
      return check(text.slice(0, key.index) + text.slice(key.index + key[0].length), key[0], found);
    }
    const [cert, key] = await Promise.all([this.storage.get(`${folder}/${OLD_CERT}`), this.storage.get(`${folder}/${OLD_KEY}`)]);
    const found = [...(cert ? [{ key: `${folder}/${OLD_CERT}`, value: cert }] : []), ...(key ? [{ key: `${folder}/${OLD_KEY}`, value: key }] : [])];
    if (!cert && !key) return { kind: 'none' };
    if (!cert || !key) return { kind: 'bad', problem: `${cert ? OLD_CERT : OLD_KEY} has no ${cert ? OLD_KEY : OLD_CERT} beside it`, found };
    return check(cert.toString('utf8'), key.toString('utf8'), found);
  }

  async save(c: Stored, issued: Issued): Promise<void> {
    const folder = this.folder(c);
    const chain = issued.certPem.endsWith('\n') ? issued.certPem : `${issued.certPem}\n`;
    await this.storage.put(`${folder}/${PAIR}`, chain + issued.keyPem);
    // pair.pem wins over the old layout's files, so a crash before these deletes is harmless
    await this.storage.delete(`${folder}/${OLD_KEY}`);
    await this.storage.delete(`${folder}/${OLD_CERT}`);
    this.onStored?.(c.name);
  }

  ledgerKey(c: Stored): string {
    return `${this.folder(c)}/ledger.json`;
  }

  lockName(c: Stored): string {
    return `issue-${this.folder(c).replace('/', '-')}`;
  }

  /**
   * Moves a bad pair to KEY.bad-TIMESTAMP, if storage still holds exactly what was read: a pair
   * read without the lock may have been replaced since by a process that held it.
   */
  private async setAside(c: Stored, bad: Reading & { kind: 'bad' }, locked: boolean): Promise<void> {
    const keys = bad.found.map((f) => f.key).join(' and ');
    const line = `certificate ${c.name}: stored ${keys} in ${this.storage.description} cannot be served: ${bad.problem}`;
    const moved: string[] = [];
    try {
      const lock = locked ? undefined : await this.storage.lock(this.lockName(c), { waitMs: 0 });
      try {
        const now = await this.inspect(c);
        if (now.kind !== 'bad' || !sameValues(now.found, bad.found)) return;
        const stamp = new Date().toISOString().replace(/[-:.]/g, '');
        for (const f of bad.found) {
          await this.storage.put(`${f.key}.bad-${stamp}`, f.value);
          await this.storage.delete(f.key);
          moved.push(`${f.key}.bad-${stamp}`);
        }
      } finally {
        await lock?.release();
      }
    } catch (err) {
      const why = err instanceof LockTimeoutError ? 'another process holds its lock and may be replacing it' : (err as Error).message;
      this.logger?.error(`${line}; not set aside yet (${why}), treated as no certificate`);
      return;
    }
    this.logger?.error(`${line}; set aside as ${moved.join(' and ')}, treated as no certificate`);
  }

  private folder(c: Stored): string {
    return `${c.source === 'acme' ? this.acmeId : 'local'}/${nameFolder(c.name)}`;
  }
}

function check(certPem: string, keyPem: string, found: { key: string; value: Buffer }[]): Reading {
  try {
    return { kind: 'good', cert: describeCertificate(certPem, keyPem) };
  } catch (err) {
    if (err instanceof CertificatePairError) return { kind: 'bad', problem: err.message, found };
    throw err;
  }
}

function sameValues(a: { key: string; value: Buffer }[], b: { key: string; value: Buffer }[]): boolean {
  return a.length === b.length && a.every((f, i) => f.key === b[i]!.key && f.value.equals(b[i]!.value));
}
