// Keeps every certificate the config needs present and fresh: installs stored ones at start,
// obtains missing ones (bounded concurrency, a progress line per name), renews each at its time
// (ARI window when the CA offers it, else the lifetime backstop), and on failure keeps the old
// certificate serving, logs loudly and retries on the ledger's schedule. Where certificates come
// from is obtain.ts; where they are kept, cert-store.ts.

import { readFile } from 'node:fs/promises';
import type { Logger } from '../ops/log.ts';
import type { Storage } from './storage/storage.ts';
import { describeCertificate, secureContext, type ServedCertificate } from './context.ts';
import type { CertificateTable } from './sni.ts';
import type { AcmeIssuer } from './acme.ts';
import { CertStore, type Issued } from './cert-store.ts';
import { Obtainer } from './obtain.ts';
import { Ledger, mayAttempt } from './ledger.ts';
import { renewalTime, type Window } from './renewal.ts';
import type { CertSource } from './plan.ts';
import type { ChallengeType } from './acme.ts';

const MAX_TIMER_MS = 24 * 3_600_000;

/** A tenth of a certificate's lifetime, at most a minute: the least time between two renewals. */
function settleTime(cert: ServedCertificate): number {
  return Math.min(60_000, (cert.notAfter.getTime() - cert.notBefore.getTime()) / 10);
}
const CONCURRENCY = 4;
/** After a check fails on storage (unreachable Redis), the next try. */
const STORAGE_RETRY_MS = 60_000;

export interface ManagedState {
  name: string;
  source: CertSource['kind'];
  cert?: ServedCertificate;
  renewAt?: Date;
  nextAttempt?: Date;
  lastError?: string;
}

interface Entry extends ManagedState {
  names: string[];
  challenges?: ChallengeType[];
  files?: { cert: string; key: string };
  random: number;
  timer?: NodeJS.Timeout;
  window?: Window;
  nextAri?: Date;
  /** When this process last obtained or picked up a new certificate for the entry. */
  issuedAt?: Date;
  /** Added at a handshake (on-demand TLS) rather than from the config's list. */
  onDemand?: boolean;
  /** Dropped by a reload: an attempt still under way must not install or reschedule it. */
  dropped?: boolean;
  busy?: Promise<void>;
  /** Obtained while storage could not take it: written as soon as storage is back. */
  unsaved?: Issued;
}

export interface ManagerOptions {
  sources: CertSource[];
  storage: Storage;
  table: CertificateTable;
  logger: Logger;
  acme?: AcmeIssuer;
  acmeCaRoot?: string;
  preflight: boolean;
  /** Hears each certificate installed (the listener sets its no-SNI default from IP ones; the supervisor relays it to workers). */
  onInstall?: (cert: ServedCertificate) => void;
  /** Hears each new certificate written to storage (a fleet tells the other instances). */
  onStored?: (name: string) => void;
  /** Hears names dropped by a reload. */
  onRemove?: (names: string[]) => void;
}

function entryOf(s: CertSource): Entry {
  if (s.kind === 'files') return { name: s.names[0]!, names: s.names, source: s.kind, files: { cert: s.cert, key: s.key }, random: Math.random() };
  const entry: Entry = { name: s.name, names: (s.kind === 'acme' && s.names) || [s.name], source: s.kind, random: Math.random() };
  if (s.kind === 'acme' && s.challenges) entry.challenges = s.challenges;
  return entry;
}

/** What makes two entries the same certificate: a reload keeps an entry whose key is unchanged. */
function entryKey(e: Entry): string {
  return e.files ? `files ${e.names.join(',')} ${e.files.cert} ${e.files.key}` : `${e.source} ${e.names.join(',')} ${e.challenges?.join(',') ?? ''}`;
}

export class CertManager {
  private readonly opts: ManagerOptions;
  private readonly entries: Entry[];
  private readonly ledger: Ledger;
  private readonly store: CertStore;
  private readonly obtainer: Obtainer;
  private running = 0;
  private readonly queue: (() => void)[] = [];
  private stopped = false;

  constructor(opts: ManagerOptions) {
    this.opts = opts;
    this.ledger = new Ledger(opts.storage, (m) => opts.logger.warn(m));
    this.store = new CertStore(opts.storage, opts.acme?.id, opts.logger, opts.onStored);
    this.obtainer = new Obtainer(opts);
    this.entries = opts.sources.map(entryOf);
  }

  /** Installs files and stored certificates, then starts obtaining the missing ones in the background. */
  async start(): Promise<void> {
    for (const entry of this.entries) {
      if (entry.files) await this.loadFiles(entry, undefined);
      else {
        // unreachable storage must not stop edge from starting: the first check retries it
        const stored = await this.store.load(entry).catch((err: Error) => {
          this.opts.logger.warn(`certificate ${entry.name}: cannot read storage (${err.message})`);
          return undefined;
        });
        if (stored) this.install(entry, stored);
      }
    }
    for (const entry of this.entries) if (!entry.files) this.kick(entry);
  }

  /** Resolves once every certificate has had its first attempt (for tests and one-shot commands). */
  async settled(): Promise<void> {
    while (this.entries.some((e) => e.busy)) await Promise.all(this.entries.map((e) => e.busy));
  }

  states(): ManagedState[] {
    return this.entries.map(({ name, source, cert, renewAt, nextAttempt, lastError }) => ({ name, source, cert, renewAt, nextAttempt, lastError }));
  }

  /**
   * A certificate for a name found at handshake time (on-demand TLS): the stored one if it is
   * still good, else a new one. From then on it is renewed like the others.
   */
  async addOnDemand(name: string): Promise<void> {
    let entry = this.entries.find((e) => e.name === name);
    if (!entry) {
      entry = { name, names: [name], source: 'acme', random: Math.random(), onDemand: true };
      this.entries.push(entry);
      const stored = await this.store.load(entry);
      if (stored && stored.notAfter > new Date()) this.install(entry, stored);
    }
    if (!entry.cert) {
      await entry.busy;
      if (!entry.cert) await this.run(entry, false);
    }
    if (!entry.cert) throw new Error(entry.lastError ?? `no certificate for ${name}`);
    this.kick(entry);
  }

  /**
   * A reloaded config's list: certificates for new names are installed from storage or obtained,
   * those for names no longer served are dropped (the handshake then fails for them), and files
   * are read again (they may have been replaced). On-demand ones stay while `keepOnDemand`.
   */
  async update(sources: CertSource[], keepOnDemand: boolean): Promise<{ added: string[]; removed: string[] }> {
    const key = (s: CertSource) => entryKey(entryOf(s));
    const wanted = new Set(sources.map(key));
    const removed = this.entries.filter((e) => e.files || (e.onDemand ? !keepOnDemand : !wanted.has(entryKey(e))));
    for (const entry of removed) {
      entry.dropped = true;
      clearTimeout(entry.timer);
      this.entries.splice(this.entries.indexOf(entry), 1);
    }
    const kept = new Set(this.entries.map(entryKey));
    // what the table still serves for a name whose files are read again below
    const before = new Map(removed.flatMap((e) => (e.cert ? e.names.map((n) => [n, e.cert!] as const) : [])));
    const added = sources.filter((s) => !kept.has(key(s))).map(entryOf);
    // names still served by a kept or added entry must not lose their certificate in between
    const served = new Set([...this.entries, ...added].flatMap((e) => e.names));
    const gone = removed.flatMap((e) => e.names).filter((n) => !served.has(n));
    this.opts.table.delete(gone);
    this.opts.onRemove?.(gone);
    this.entries.push(...added);
    for (const entry of added) {
      if (entry.files) await this.loadFiles(entry, before.get(entry.name));
      else {
        const stored = await this.store.load(entry);
        if (stored) this.install(entry, stored);
        this.kick(entry);
      }
    }
    return { added: added.filter((e) => !e.files).map((e) => e.name), removed: gone };
  }

  /** Obtains a new certificate for `name` now, whatever its schedule says. */
  async renew(name: string): Promise<void> {
    const entry = this.entries.find((e) => e.names.includes(name));
    if (!entry || entry.files) throw new Error(`edge does not manage a certificate for "${name}"`);
    await entry.busy;
    await this.run(entry, true);
    if (entry.lastError) throw new Error(entry.lastError);
    this.kick(entry);
  }

  /**
   * Installs certificates another instance stored (a fleet's propagation: on its notice, on a
   * poll, after an outage), and writes the ones obtained while storage was down. `name`: only that one.
   */
  async refreshFromStorage(name?: string): Promise<void> {
    for (const entry of this.entries) {
      if (entry.files || entry.busy || (name !== undefined && !entry.names.includes(name))) continue;
      let installed = false;
      entry.busy = this.pickUp(entry)
        .then((done) => void (installed = done))
        .catch((err: Error) => this.opts.logger.warn(`certificate ${entry.name}: cannot read storage (${err.message})`))
        .finally(() => (entry.busy = undefined));
      await entry.busy;
      // plan the new certificate's renewal
      if (installed) this.kick(entry);
    }
  }

  /** True when it installed a certificate from storage. */
  private async pickUp(entry: Entry): Promise<boolean> {
    if (entry.unsaved) await this.saveUnsaved(entry);
    const stored = await this.store.load(entry);
    if (!stored || stored.certPem === entry.cert?.certPem) return false;
    if (entry.cert && stored.notBefore < entry.cert.notBefore) return false;
    this.install(entry, stored);
    entry.lastError = undefined;
    entry.nextAttempt = undefined;
    entry.window = undefined;
    entry.nextAri = undefined;
    this.opts.logger.info(`certificate ${entry.name}: installed the certificate another instance stored (issued by ${stored.issuer}, valid until ${stored.notAfter.toISOString()})`);
    clearTimeout(entry.timer);
    return true;
  }

  /** Writes a certificate obtained during an outage, unless another instance stored a newer one. */
  private async saveUnsaved(entry: Entry): Promise<void> {
    const lock = await this.opts.storage.lock(this.store.lockName(entry), { waitMs: 10_000 });
    try {
      const stored = await this.store.load(entry, { locked: true });
      const mine = describeCertificate(entry.unsaved!.certPem, entry.unsaved!.keyPem);
      if (!stored || stored.notBefore < mine.notBefore) {
        await this.store.save(entry, entry.unsaved!);
        this.opts.logger.info(`certificate ${entry.name}: stored the certificate obtained while storage was unreachable`);
      }
      entry.unsaved = undefined;
    } finally {
      await lock.release();
    }
  }

  stop(): void {
    this.stopped = true;
    for (const entry of this.entries) clearTimeout(entry.timer);
  }

  /**
   * Installs a site's own files. Files that cannot be served are refused before listening and at
   * reload (config/check.ts), so this meets them only if they changed since: it says so and keeps
   * `previous` (the certificate from these files before a reload) serving.
   */
  private async loadFiles(entry: Entry, previous: ServedCertificate | undefined): Promise<void> {
    let served: ServedCertificate;
    try {
      const [cert, key] = await Promise.all([readFile(entry.files!.cert, 'utf8'), readFile(entry.files!.key, 'utf8')]);
      served = describeCertificate(cert, key);
    } catch (err) {
      entry.cert = previous;
      entry.lastError = (err as Error).message;
      const serving = previous ? 'the previous certificate keeps serving' : 'the site has no certificate';
      this.opts.logger.error(`certificate ${entry.name}: ${entry.files!.cert} and ${entry.files!.key} cannot be served: ${entry.lastError}; ${serving}`);
      return;
    }
    this.install(entry, served);
    const days = (served.notAfter.getTime() - Date.now()) / 86_400_000;
    if (days < 14) this.opts.logger.warn(`certificate ${entry.name} from ${entry.files!.cert} expires in ${Math.floor(days)} days (${served.notAfter.toISOString()}); edge does not renew files`);
  }

  /** `cert` comes from describeCertificate, which has checked that OpenSSL takes the pair. */
  private install(entry: Entry, cert: ServedCertificate): void {
    if (entry.dropped) return;
    if (entry.cert) entry.issuedAt = new Date();
    entry.cert = cert;
    this.opts.table.set(entry.names, secureContext(cert));
    this.opts.onInstall?.(cert);
  }

  /** Starts a check unless one is under way; `busy` lets settled() and renew() wait for it. */
  private kick(entry: Entry): void {
    if (entry.dropped) return;
    entry.busy ??= this.check(entry)
      .catch((err: Error) => {
        // storage unreachable (the ledger, the lock): the certificate held keeps serving
        entry.lastError = err.message;
        entry.nextAttempt = new Date(Date.now() + STORAGE_RETRY_MS);
        this.opts.logger.warn(`certificate ${entry.name}: check failed (${err.message}); trying again at ${entry.nextAttempt.toISOString()}`);
        this.schedule(entry, entry.nextAttempt);
      })
      .finally(() => (entry.busy = undefined));
  }

  /** Obtains the certificate if it is missing or due, then plans the next look. */
  private async check(entry: Entry): Promise<void> {
    if (this.stopped) return;
    if (entry.cert && entry.source === 'acme' && (entry.nextAri === undefined || entry.nextAri <= new Date())) {
      ({ window: entry.window, nextAri: entry.nextAri } = await this.obtainer.renewalWindow(entry.name, entry.cert));
    }
    const now = new Date();
    let renewAt = entry.cert ? renewalTime(entry.cert, { window: entry.window, now, random: entry.random }) : now;
    // a certificate just obtained is never renewed at once, even if told to: nothing loops on the CA
    if (entry.cert && entry.issuedAt) renewAt = new Date(Math.max(renewAt.getTime(), entry.issuedAt.getTime() + settleTime(entry.cert)));
    entry.renewAt = renewAt;
    if (renewAt > now) {
      this.schedule(entry, entry.nextAri && entry.nextAri < renewAt ? entry.nextAri : renewAt);
      return;
    }
    const before = entry.cert;
    await this.run(entry, false);
    if (entry.nextAttempt) this.schedule(entry, entry.nextAttempt);
    // a new certificate: ask about its ARI window and plan its renewal
    else if (entry.cert !== before) await this.check(entry);
  }

  private schedule(entry: Entry, at: Date): void {
    clearTimeout(entry.timer);
    if (this.stopped) return;
    const delay = Math.min(Math.max(0, at.getTime() - Date.now()), MAX_TIMER_MS);
    entry.timer = setTimeout(() => this.kick(entry), delay);
    entry.timer.unref();
  }

  /** One attempt under the name's lock, waiting for a slot; failures go to the ledger. */
  private async run(entry: Entry, forced: boolean): Promise<void> {
    await this.slot();
    const ledgerKey = this.store.ledgerKey(entry);
    try {
      const record = await this.ledger.get(ledgerKey);
      if (!forced && !mayAttempt(record, new Date())) {
        entry.nextAttempt = new Date(record.nextAttempt!);
        entry.lastError = record.lastError;
        this.opts.logger.warn(`certificate ${entry.name}: waiting until ${record.nextAttempt} to try again (${record.failures} failure(s), last: ${record.lastError})`);
        return;
      }
      const lock = await this.opts.storage.lock(this.store.lockName(entry));
      try {
        await this.attempt(entry, forced, ledgerKey);
      } finally {
        await lock.release();
      }
    } finally {
      this.release();
    }
  }

  private async attempt(entry: Entry, forced: boolean, ledgerKey: string): Promise<void> {
    // another process may have renewed it while this one waited for the lock
    const stored = await this.store.load(entry, { locked: true });
    if (!forced && stored && (!entry.cert || stored.notAfter > entry.cert.notAfter)
      && renewalTime(stored, { now: new Date(), random: entry.random }) > new Date()) {
      this.install(entry, stored);
      return;
    }
    const started = performance.now();
    const progress = (step: string) => this.opts.logger.info(`certificate ${entry.name}: ${step}`);
    try {
      const issued = await this.obtainer.obtain(entry, progress);
      const served = describeCertificate(issued.certPem, issued.keyPem);
      try {
        await this.store.save(entry, issued);
        await this.ledger.recordSuccess(ledgerKey);
      } catch (err) {
        // a certificate the CA counted against its limits is never thrown away
        entry.unsaved = issued;
        this.opts.logger.warn(`certificate ${entry.name}: obtained but not stored (${(err as Error).message}); serving it, and storing it when storage is back`);
      }
      this.install(entry, served);
      entry.lastError = undefined;
      entry.nextAttempt = undefined;
      entry.window = undefined;
      entry.nextAri = undefined;
      this.opts.logger.info(`certificate ${entry.name}: issued by ${served.issuer} in ${((performance.now() - started) / 1000).toFixed(1)} s, valid until ${served.notAfter.toISOString()}`);
    } catch (err) {
      const e = err as Error & { retryAfterMs?: number };
      const record = await this.ledger.recordFailure(ledgerKey, e.message, new Date(), e.retryAfterMs);
      entry.lastError = e.message;
      entry.nextAttempt = new Date(record.nextAttempt!);
      const serving = entry.cert ? `the current certificate (valid until ${entry.cert.notAfter.toISOString()}) keeps serving` : 'the site has no certificate yet';
      this.opts.logger.error(`certificate ${entry.name}: FAILED (attempt ${record.failures}): ${e.message}; ${serving}; next attempt at ${record.nextAttempt}`);
    }
  }

  private slot(): Promise<void> {
    if (this.running < CONCURRENCY) {
      this.running++;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.queue.push(resolve));
  }

  private release(): void {
    const next = this.queue.shift();
    if (next) next();
    else this.running--;
  }
}

