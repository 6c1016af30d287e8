// certbot's state → edge's storage: each lineage's live certificate and key (live/NAME/fullchain.pem
// and privkey.pem) stored as the pair edge serves for every name the certificate covers, and the
// ACME account its renewal config names (accounts/SERVER/ID/private_key.json, a JWK, and
// regr.json, which holds the account URL) as edge's account for that CA. Edge then serves the
// certificates at once and renews them, when their time comes, with certbot's account: no new
// account and no early order.

import { createPrivateKey, X509Certificate } from 'node:crypto';
import { existsSync, globSync, readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { issuerId } from '../../tls/plan.ts';
import { CertStore } from '../../tls/cert-store.ts';
import type { Storage } from '../../tls/storage/storage.ts';
import { CA_DIRECTORIES } from '../tls-schema.ts';

export class CertbotImportError extends Error {
  readonly code = 'ECERTBOT';
}

export interface Lineage {
  name: string;
  server: string;
  account: string;
}

/** certbot's renewal/NAME.conf files: each lineage's CA directory and account id. */
export function readLineages(dir: string, only?: Set<string>): Lineage[] {
  const folder = join(dir, 'renewal');
  if (!existsSync(folder)) throw new CertbotImportError(`${dir} holds no renewal/ folder: is it certbot's config folder (/etc/letsencrypt)?`);
  const out: Lineage[] = [];
  for (const file of readdirSync(folder).filter((f) => f.endsWith('.conf')).sort()) {
    const name = basename(file, '.conf');
    if (only && !only.has(name)) continue;
    const values = new Map<string, string>();
    for (const line of readFileSync(join(folder, file), 'utf8').split('\n')) {
      const m = /^\s*([\w-]+)\s*=\s*(.*?)\s*$/.exec(line);
      if (m && !values.has(m[1]!)) values.set(m[1]!, m[2]!);
    }
    const server = values.get('server');
    const account = values.get('account');
    if (server && account) out.push({ name, server, account });
  }
  return out;
}

/** How acme.ca names a directory URL. */
export function caName(server: string): string {
  return Object.entries(CA_DIRECTORIES).find(([, url]) => url === server)?.[0] ?? server;
}

export interface CertbotResult {
  lines: string[];
  /** The CA directories the imported accounts belong to, with the account's contact email. */
  servers: Map<string, string | undefined>;
}

/** Copies the lineages (all, or `only`) and their accounts into `storage`. */
export async function importCertbot(dir: string, storage: Storage, only?: Set<string>): Promise<CertbotResult> {
  const lineages = readLineages(dir, only);
  if (lineages.length === 0) throw new CertbotImportError(`${dir}/renewal holds no certificate${only ? ` named ${[...only].join(', ')}` : ''}`);
  const result: CertbotResult = { lines: [], servers: new Map() };
  const accounts = new Map<string, string>();
  for (const l of lineages) {
    const id = issuerId(l.server);
    if (accounts.has(id) && accounts.get(id) !== l.account) {
      result.lines.push(`${l.name}: certbot used another account (${l.account}) for it: edge renews it with ${accounts.get(id)}`);
    } else if (!accounts.has(id)) {
      accounts.set(id, l.account);
      result.servers.set(l.server, await importAccount(dir, l, storage, result.lines));
    }
    await importLineage(dir, l, storage, result.lines);
  }
  return result;
}

async function importAccount(dir: string, l: Lineage, storage: Storage, lines: string[]): Promise<string | undefined> {
  const folder = globSync(join(dir, 'accounts', '**', l.account)).find((f) => existsSync(join(f, 'private_key.json')));
  if (!folder) throw new CertbotImportError(`certbot account ${l.account} (for ${l.server}) is not under ${dir}/accounts`);
  const jwk = JSON.parse(readFileSync(join(folder, 'private_key.json'), 'utf8')) as Record<string, unknown>;
  const regr = JSON.parse(readFileSync(join(folder, 'regr.json'), 'utf8')) as { uri?: string; body?: { contact?: string[] } };
  if (!regr.uri) throw new CertbotImportError(`${folder}/regr.json has no account URL (uri)`);
  const keyPem = createPrivateKey({ key: jwk as never, format: 'jwk' }).export({ type: 'pkcs8', format: 'pem' }).toString();
  const email = regr.body?.contact?.find((c) => c.startsWith('mailto:'))?.slice('mailto:'.length);
  const id = issuerId(l.server);
  const lock = await storage.lock(`${id}-account`);
  try {
    const saved = await storage.get(`${id}/account.json`);
    const url = saved ? (JSON.parse(saved.toString()) as { url?: string }).url : undefined;
    if (url !== undefined && url !== regr.uri) {
      throw new CertbotImportError(`${storage.description} already holds an ACME account for ${l.server} (${url}), not certbot's (${regr.uri}): left as it is; remove ${id}/account.* from it to take certbot's`);
    }
    await storage.put(`${id}/account.key`, keyPem);
    await storage.put(`${id}/account.json`, JSON.stringify({ url: regr.uri, email, imported_from: folder }));
  } finally {
    await lock.release();
  }
  lines.push(`account ${regr.uri} (certbot's ${l.account}): edge's account for ${l.server}`);
  return email;
}

async function importLineage(dir: string, l: Lineage, storage: Storage, lines: string[]): Promise<void> {
  const live = join(dir, 'live', l.name);
  let chain: string;
  let key: string;
  try {
    chain = readFileSync(join(live, 'fullchain.pem'), 'utf8');
    key = readFileSync(join(live, 'privkey.pem'), 'utf8');
  } catch (err) {
    throw new CertbotImportError(`cannot read ${live}: ${(err as NodeJS.ErrnoException).code}`);
  }
  const cert = new X509Certificate(chain);
  const names = (cert.subjectAltName ?? '').split(', ').filter((s) => s.startsWith('DNS:')).map((s) => s.slice(4).toLowerCase());
  const store = new CertStore(storage, issuerId(l.server));
  for (const name of names) {
    if (name.startsWith('*.')) {
      lines.push(`${l.name}: ${name}: a wildcard, which edge cannot renew yet (no DNS-01): not imported; serve it with tls: { cert, key }`);
      continue;
    }
    const c = { name, source: 'acme' as const };
    const lock = await storage.lock(store.lockName(c));
    try {
      const held = await store.inspect(c);
      if (held.kind === 'good' && held.cert.notAfter.getTime() >= Date.parse(cert.validTo)) {
        lines.push(`${name}: edge's storage has a certificate as new already (until ${cert.validTo}), kept`);
        continue;
      }
      await store.save(c, { certPem: chain, keyPem: key });
    } finally {
      await lock.release();
    }
    lines.push(`${name}: certbot's ${l.name} certificate (serial ${cert.serialNumber}, until ${new Date(cert.validTo).toISOString()}) stored for edge`);
  }
}
