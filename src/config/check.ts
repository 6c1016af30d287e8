// What `edge check` adds to validation: facts about this machine. A unix: upstream or a static
// root that is not there (yet), or a named pool no route uses, is a warning; a port edge could not
// bind, a certificate file or CA root it cannot read, a site's certificate and key that cannot be
// served together, a static root that is not a folder, a storage folder edge could not create or
// write in, or an rfc2136 DNS server refusing edge's TSIG key (one not answering: a warning), is an
// error. A port held by the edge running this same file (its admin endpoint answers and names the
// file) is no error: `edge check` on a serving machine says ok, as `nginx -t` does.

import { access, readFile, stat } from 'node:fs/promises';
import { constants } from 'node:fs';
import { createServer } from 'node:net';
import { resolve } from 'node:path';
import { identify, parseAdminAddress, type Instance } from '../ops/admin-address.ts';
import { usesTls } from '../tls/plan.ts';
import { folderProblem } from '../tls/storage/fs-root.ts';
import { isRedisUrl } from '../tls/storage/redis-url.ts';
import type { Problem } from './errors.ts';
import type { LoadedConfig } from './load.ts';
import type { UpstreamSpec } from './upstream-schema.ts';
import { describeCertificate } from '../tls/context.ts';
import { unverifiedUpstreams } from './upstream-tls-schema.ts';

export interface CheckResult {
  problems: Problem[];
  /** The running edge of this config, when it holds the ports. */
  heldBy?: Instance;
}

export async function checkEnvironment(loaded: LoadedConfig): Promise<CheckResult> {
  const { config, locate, pathIn } = loaded;
  let heldBy: Instance | undefined;
  const problems: Problem[] = [];
  if (config.sites.length === 0) {
    problems.push({ where: locate([]), message: 'no sites: every request will get 404', severity: 'warning' });
  }
  problems.push(...(await upstreamSocketProblems(loaded)), ...unverifiedUpstreams(config, locate, pathIn));
  const named = new Set(config.sites.flatMap((site) => site.routes.map((route) => route.proxy?.upstream)));
  for (const name of Object.keys(config.upstreams)) {
    if (!named.has(name)) {
      const path = ['upstreams', name];
      problems.push({ where: locate(['upstreams'], { key: name }), path: pathIn(path), message: `pool ${name} is named by no route (proxy: { upstream: ${name} }), so it is not used`, severity: 'warning' });
    }
  }
  for (const [s, site] of config.sites.entries()) {
    for (const [r, route] of site.routes.entries()) {
      if (route.static) {
        const path = ['sites', s, 'routes', r, 'static', 'root'];
        const problem = await staticRootProblem(route.static.root);
        if (problem) problems.push({ where: locate(path), path: pathIn(path), ...problem });
      }
    }
  }
  const secure = config.sites.some((site) => site.tls !== 'off');
  for (const host of config.bind.length > 0 ? config.bind : [undefined]) {
    for (const key of secure ? ['http_port', 'https_port'] as const : ['http_port'] as const) {
      const problem = await bindProblem(config[key], host);
      if (problem === undefined) continue;
      if (problem.inUse) {
        heldBy ??= await runningEdgeOf(loaded);
        if (heldBy?.config_file === resolve(loaded.files[0] ?? '')) continue;
      }
      problems.push({ where: locate([key]), path: key, message: problem.message, severity: 'error' });
    }
  }
  if (usesTls(config) && !isRedisUrl(config.storage)) {
    const problem = await folderProblem(config.storage, resolve(config.storage));
    if (problem) problems.push({ where: locate(['storage']), path: pathIn(['storage']), message: problem, severity: 'error' });
  }
  if (config.acme.ca_root !== undefined) {
    const problem = await unreadable(config.acme.ca_root);
    if (problem) problems.push({ where: locate(['acme', 'ca_root']), path: pathIn(['acme', 'ca_root']), message: problem, severity: 'error' });
  }
  problems.push(...(await certificateFileProblems(loaded)));
  problems.push(...(await dnsProblems(loaded)));
  return { problems, heldBy: heldBy?.config_file === resolve(loaded.files[0] ?? '') ? heldBy : undefined };
}

/**
 * Sites' own `tls: { cert, key }` files that cannot be served: unreadable, not parsing, or a key
 * that is not the certificate's. Checked by `edge check`, before listening and before a reload
 * applies, so such files are a config error rather than a crash where the pair is installed.
 */
export async function certificateFileProblems(loaded: LoadedConfig): Promise<Problem[]> {
  const { config, locate, pathIn } = loaded;
  const problems: Problem[] = [];
  for (const [s, site] of config.sites.entries()) {
    if (typeof site.tls !== 'object') continue;
    const { cert, key } = site.tls;
    let readable = true;
    for (const [field, file] of [['cert', cert], ['key', key]] as const) {
      const problem = await unreadable(file);
      if (!problem) continue;
      readable = false;
      const path = ['sites', s, 'tls', field];
      problems.push({ where: locate(path), path: pathIn(path), message: problem, severity: 'error' });
    }
    if (!readable) continue;
    try {
      const [certPem, keyPem] = await Promise.all([readFile(cert, 'utf8'), readFile(key, 'utf8')]);
      describeCertificate(certPem, keyPem);
    } catch (err) {
      const path = ['sites', s, 'tls'];
      problems.push({ where: locate(path), path: pathIn(path), message: `${cert} and ${key} cannot be served: ${(err as Error).message}`, severity: 'error' });
    }
  }
  return problems;
}

/**
 * acme.dns with rfc2136: a signed SOA query to the primary, so a wrong key or a server that does not
 * serve the zone is an error now rather than at the first order; a server not answering, a warning.
 */
async function dnsProblems({ config, locate, pathIn }: LoadedConfig): Promise<Problem[]> {
  const dns = config.acme.dns;
  if (dns?.provider !== 'rfc2136') return [];
  // loaded only when used: the DNS code is not on every start's path
  const [{ DnsRefusedError, Rfc2136Provider }, { parseServer }] = await Promise.all([import('../tls/dns/rfc2136.ts'), import('../tls/dns/transport.ts')]);
  const provider = new Rfc2136Provider({
    server: parseServer(dns.server),
    zone: dns.zone,
    key: { name: dns.key_name, algorithm: dns.key_algorithm, secret: Buffer.from(dns.key_secret, 'base64') },
  });
  try {
    await provider.probe(2000);
    return [];
  } catch (err) {
    const refused = err instanceof DnsRefusedError;
    const path = ['acme', 'dns'];
    const message = refused ? (err as Error).message : `${(err as Error).message}: DNS-01 updates will fail until it answers`;
    return [{ where: locate(path), path: pathIn(path), message, severity: refused ? 'error' : 'warning' }];
  }
}

async function unreadable(file: string): Promise<string | undefined> {
  try {
    await access(file, constants.R_OK);
    return undefined;
  } catch (err) {
    return `cannot read ${file} (${(err as NodeJS.ErrnoException).code})`;
  }
}

/** The edge answering at this config's admin address, if any. */
async function runningEdgeOf(loaded: LoadedConfig): Promise<Instance | undefined> {
  const admin = parseAdminAddress(loaded.config.admin);
  return admin && loaded.files[0] !== undefined ? identify(admin, 2000) : undefined;
}

/** Unix-socket upstreams that are missing or not sockets (warnings: the app may start later); `edge run` says so at start too. */
export async function upstreamSocketProblems(loaded: LoadedConfig): Promise<Problem[]> {
  const { config, locate, pathIn } = loaded;
  const problems: Problem[] = [];
  const seen = new Set<string>();
  const sockets = async (to: UpstreamSpec[], at: PropertyKey[]) => {
    for (const [u, { address }] of to.entries()) {
      if (address.kind !== 'unix' || seen.has(address.path)) continue;
      seen.add(address.path);
      const path = [...at, ...(to.length > 1 ? [u] : [])];
      const problem = await socketProblem(address.path);
      if (problem) problems.push({ where: locate(path), path: pathIn(path), message: problem, severity: 'warning' });
    }
  };
  for (const [name, pool] of Object.entries(config.upstreams)) await sockets(pool.to, ['upstreams', name, 'to']);
  for (const [s, site] of config.sites.entries()) {
    for (const [r, route] of site.routes.entries()) await sockets(route.proxy?.to ?? [], ['sites', s, 'routes', r, 'proxy', 'to']);
  }
  return problems;
}

async function socketProblem(path: string): Promise<string | undefined> {
  try {
    const info = await stat(path);
    return info.isSocket() ? undefined : `upstream unix:${path} is not a socket`;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return `upstream unix:${path} does not exist (is the app running?)`;
    return `upstream unix:${path} cannot be checked: ${code}`;
  }
}

async function staticRootProblem(root: string): Promise<Omit<Problem, 'where' | 'path'> | undefined> {
  try {
    const info = await stat(root);
    if (info.isDirectory()) return undefined;
    return { message: `static root ${root} is not a folder`, severity: 'error' };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { message: `static root ${root} does not exist (every request to it gets 404 until it does)`, severity: 'warning' };
    return { message: `static root ${root} cannot be read: ${code}`, severity: 'error' };
  }
}

function bindProblem(port: number, host: string | undefined): Promise<{ message: string; inUse?: true } | undefined> {
  return new Promise((resolve) => {
    const probe = createServer();
    const where = host === undefined ? `port ${port}` : `${host} port ${port}`;
    probe.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EADDRINUSE') resolve({ message: `${where} is already in use`, inUse: true });
      else if (err.code === 'EACCES') resolve({ message: `${where} needs root or CAP_NET_BIND_SERVICE` });
      else if (err.code === 'EADDRNOTAVAIL') resolve({ message: `${host} is not an address of this machine` });
      else resolve({ message: `cannot bind ${where}: ${err.message}` });
    });
    probe.listen({ port, host, exclusive: true }, () => probe.close(() => resolve(undefined)));
  });
}
