// `edge certs list` and `edge certs renew NAME`: certificate state in the open. List asks the
// running instance through its admin endpoint and falls back to reading storage when edge is not
// running; renew needs the running instance, which answers the CA's challenges.

import { resolve } from 'node:path';
import type { LoadedConfig } from '../config/load.ts';
import { directoryUrl } from '../config/tls-schema.ts';
import { CertStore } from '../tls/cert-store.ts';
import { Ledger } from '../tls/ledger.ts';
import { certificatePlan, issuerId } from '../tls/plan.ts';
import { renewalTime } from '../tls/renewal.ts';
import { openStorage, storageLabel } from '../tls/storage/open.ts';
import { isRedisUrl } from '../tls/storage/redis-url.ts';
import { StorageUnavailableError } from '../tls/storage/redis.ts';
import type { Storage } from '../tls/storage/storage.ts';
import type { CertView } from './admin.ts';
import { adminRequest, describeAdmin, describeInstance, type AdminAddress, type AdminTarget, type Instance } from './admin-address.ts';

export class CertsCommandError extends Error {
  readonly code = 'ECERTS';
}

interface Listing {
  storage: string;
  certificates: CertView[];
}

export async function certsCommand(args: string[], target: AdminTarget, out: (text: string) => void): Promise<void> {
  const [action, name] = args;
  const { admin, loaded } = target;
  const storage = loaded && storageLabel(loaded.config.storage);
  if (action === 'list' || action === undefined) {
    const live = admin && (await askRunning(admin, storage));
    if (live) {
      out(formatListing(live, `running ${describeInstance(live, admin!)}`));
      return;
    }
    if (!loaded) throw new CertsCommandError(`no running edge answers at ${describeAdmin(admin!)}`);
    out(formatListing(await readStorage(loaded), `storage ${loaded.config.storage} (edge is not running)`));
    return;
  }
  if (action === 'renew') {
    if (!name) throw new CertsCommandError('usage: edge certs renew NAME');
    if (!admin) throw new CertsCommandError('admin is off in this config: edge certs renew needs the running edge\'s admin endpoint (or --admin ADDR)');
    const live = await askRunning(admin, storage);
    if (!live) throw new CertsCommandError(`no running edge answers at ${describeAdmin(admin)}: start it first (it answers the CA's challenges)`);
    out(`renewing ${name} through ${describeInstance(live, admin)}...\n`);
    const answer = await adminRequest(admin, 'POST', `/certs/renew?name=${encodeURIComponent(name)}`, 300_000);
    const body = answer.body as CertView & { error?: string };
    if (answer.status !== 200) throw new CertsCommandError(`renewal of ${name} failed: ${body.error}`);
    out(`${name}: new certificate from ${body.issuer}, valid until ${body.notAfter}\n`);
    return;
  }
  throw new CertsCommandError(`unknown certs action "${action}": use edge certs list, or edge certs renew NAME`);
}

/**
 * The running instance's listing, if one answers; when a config is named, it must use that
 * config's storage (else admin points at another instance). Without one (--admin alone), the
 * instance named is the one meant.
 */
async function askRunning(admin: AdminAddress, storage: string | undefined): Promise<(Listing & Instance) | undefined> {
  let answer;
  try {
    answer = await adminRequest(admin, 'GET', '/certs', 3000);
  } catch {
    return undefined;
  }
  const body = answer.body as Listing & Instance;
  if (answer.status !== 200) return undefined;
  if (storage !== undefined && body.storage !== storage) {
    throw new CertsCommandError(`the edge at ${describeAdmin(admin)} (pid ${body.pid}, ${body.config}) uses storage ${body.storage}, not ${storage}: is admin set to another instance's address? (--admin ADDR names the one to ask)`);
  }
  return body;
}

async function readStorage(loaded: LoadedConfig): Promise<Listing> {
  const storage = openStorage(loaded.config.storage);
  try {
    return await listStorage(loaded, storage);
  } catch (err) {
    if (err instanceof StorageUnavailableError) throw new CertsCommandError(err.message);
    throw err;
  } finally {
    storage.close?.();
  }
}

async function listStorage(loaded: LoadedConfig, storage: Storage): Promise<Listing> {
  const { config } = loaded;
  const ledger = new Ledger(storage);
  // read only: a running edge sets a bad pair aside, the listing just says so
  const store = new CertStore(storage, issuerId(directoryUrl(config.acme.ca)));
  const certificates: CertView[] = [];
  for (const source of certificatePlan(config.sites)) {
    if (source.kind === 'files') {
      certificates.push({ name: source.names[0]!, source: 'files', issuer: `files ${source.cert}` });
      continue;
    }
    const stored = { name: source.name, source: source.kind };
    const [reading, record] = await Promise.all([store.inspect(stored), ledger.get(store.ledgerKey(stored))]);
    const served = reading.kind === 'good' ? reading.cert : undefined;
    certificates.push({
      name: source.name,
      source: source.kind,
      issuer: served?.issuer,
      notAfter: served?.notAfter.toISOString(),
      renewAt: served ? renewalTime(served, { now: new Date(), random: 0 }).toISOString() : undefined,
      nextAttempt: record.nextAttempt,
      lastError: reading.kind === 'bad' ? `stored pair cannot be served: ${reading.problem}` : record.lastError,
    });
  }
  return { storage: storageLabel(config.storage), certificates };
}

function formatListing(listing: Listing, from: string): string {
  const rows = [['NAME', 'SOURCE', 'ISSUER', 'NOT AFTER', 'RENEWS AT', 'LAST ERROR']];
  for (const c of listing.certificates) {
    rows.push([
      c.name, c.source, c.issuer ?? '(none yet)', short(c.notAfter), short(c.nextAttempt ?? c.renewAt),
      c.lastError ? clip(c.lastError, 80) : '-',
    ]);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  const table = rows.map((r) => r.map((cell, i) => cell.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n');
  const local = listing.certificates.some((c) => c.source === 'local')
    ? `\nlocal CA root: ${isRedisUrl(listing.storage) ? `local/root.crt in ${listing.storage}` : resolve(listing.storage, 'local/root.crt')} (trust it on clients that should accept local certificates)`
    : '';
  return `from ${from}\n${table}${local}\n`;
}

function short(iso: string | undefined): string {
  return iso ? `${iso.slice(0, 16).replace('T', ' ')} UTC` : '-';
}

/** `text` in at most `max` characters, an ellipsis saying where it was cut. */
function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
