// An nginx config (read by nginx-files.ts) → an edge config: the main and http blocks' settings,
// upstream pools, and the servers as sites. Servers that only redirect plain HTTP to HTTPS are
// edge's default and dropped with a note; one port for HTTP and one for HTTPS is edge's shape, so
// other listen ports are noted. Certificates certbot manages become tls: auto, with the certbot
// folder they come from, for the certificate import.

import type { NginxTree } from './nginx-files.ts';
import type { Directive } from './nginx-parse.ts';
import { Notes } from './nginx-notes.ts';
import { translateServer, type Server } from './nginx-servers.ts';
import { translateUpstream } from './nginx-upstreams.ts';
import type { Inherited } from './nginx-routes.ts';
import { size, time } from './nginx-values.ts';
import { INLINE, NOTES, type Obj } from './yaml-out.ts';

export interface ImportOptions {
  httpPort?: number;
  httpsPort?: number;
}

export interface Translation {
  config: Obj;
  /** The lines printed on stderr (each is a comment in the output too). */
  notes: Notes;
  /** Top-of-file comment lines. */
  header: string[];
  /** Certbot folders (holding live/) the sites' certificates come from, with the lineage names. */
  certbot: Map<string, Set<string>>;
}

const CERTBOT_PATH = /^(.*)\/live\/([^/]+)\/(?:fullchain|cert)\.pem$/;
const LIMITS: Record<string, [string, (v: string) => string | undefined]> = {
  client_max_body_size: ['max_body_size', size],
  keepalive_timeout: ['keepalive_timeout', time],
  client_header_timeout: ['header_timeout', time],
  client_body_timeout: ['body_timeout', time],
};

export function translateNginx(tree: NginxTree, opts: ImportOptions = {}): Translation {
  const notes = new Notes();
  const header: string[] = [...tree.missing.map((m) => notes.add(m))];
  const config: Obj = {};
  const http = tree.directives.find((d) => d.name === 'http');
  for (const d of tree.directives) {
    if (d.name === 'http') continue;
    if (d.name === 'worker_processes') {
      const n = Number(d.args[0]);
      if (d.args[0] === 'auto' || (Number.isInteger(n) && n >= 1 && n <= 64)) config.workers = d.args[0] === 'auto' ? 'auto' : n;
      else header.push(notes.at(d, 'edge runs 1-64 workers, dropped'));
    } else if (!http && (d.name === 'server' || d.name === 'upstream' || !d.block)) {
      // a site file alone: its top level is the http block's inside
    } else {
      header.push(notes.dropped(d));
    }
  }
  const body = http?.block ?? tree.directives.filter((d) => d.name === 'server' || d.name === 'upstream' || (!d.block && d.name !== 'worker_processes'));
  const limits: Obj = {};
  const inh: Inherited & { cert?: Directive; key?: Directive } = {};
  const upstreams: Obj = {};
  for (const d of body) {
    const arg = d.args[0] ?? '';
    if (d.name === 'upstream') {
      const pool = translateUpstream(d, notes);
      if (pool) upstreams[arg] = pool;
    } else if (LIMITS[d.name]) {
      const [key, parse] = LIMITS[d.name]!;
      const value = parse(arg);
      if (value === undefined) header.push(notes.at(d, 'not a value edge reads, dropped'));
      else limits[key] = value;
    } else if (d.name === 'gzip') inh.gzip = arg === 'on';
    else if (d.name === 'root') inh.root = d;
    else if (d.name === 'index') inh.index = d;
    else if (d.name === 'proxy_read_timeout' || d.name === 'proxy_connect_timeout') {
      const value = time(arg);
      if (value === undefined) header.push(notes.at(d, 'not a time edge reads, dropped'));
      else inh[d.name === 'proxy_read_timeout' ? 'read' : 'connect'] = value;
    }
    else if (d.name === 'ssl_certificate') inh.cert = d;
    else if (d.name === 'ssl_certificate_key') inh.key = d;
    else if (d.name !== 'server') header.push(notes.dropped(d));
  }
  const servers = body.filter((d) => d.name === 'server').map((d) => translateServer(d, inh, new Set(Object.keys(upstreams)), notes));
  const certbot = new Map<string, Set<string>>();
  const sites = toSites(servers, notes, header, certbot);
  ports(servers, config, notes, header, opts);
  if (Object.keys(limits).length > 0) config.limits = limits;
  if (Object.keys(upstreams).length > 0) config.upstreams = upstreams;
  config.sites = sites;
  return { config, notes, header, certbot };
}

function toSites(servers: Server[], notes: Notes, header: string[], certbot: Map<string, Set<string>>): Obj[] {
  const secure = servers.filter((s) => s.listens.some((l) => l.ssl));
  const secureNames = new Set(secure.flatMap((s) => s.hosts));
  const sites: { server: Server; site: Obj }[] = [];
  const plainToo = new Set<string>();
  for (const s of servers) {
    const tls = s.listens.some((l) => l.ssl);
    const covered = s.hosts.length > 0 ? s.hosts.every((h) => secureNames.has(h)) : s.catchAll && secure.length > 0;
    if (!tls && s.redirectOnly && covered) {
      header.push(notes.add(`${s.d.file}:${s.d.line}: server ${s.hosts.join(' ') || '_'}: redirects plain HTTP to HTTPS, which edge does by itself (https_redirect: a 308), dropped`));
      continue;
    }
    if (!tls && covered) {
      header.push(notes.add(`${s.d.file}:${s.d.line}: server ${s.hosts.join(' ')}: plain-HTTP twin of an HTTPS server: edge serves the HTTPS site's routes over HTTP too (https_redirect: false); this block's own content is not translated`));
      for (const h of s.hosts) plainToo.add(h);
      continue;
    }
    const site: Obj = { hosts: s.hosts };
    const lines = [`nginx ${s.d.file}:${s.d.line}: server ${s.hosts.join(' ') || '_'}`, ...s.notes];
    if (s.hosts.length === 0) {
      site.hosts = ['localhost'];
      lines.push(notes.at(s.d, 'answers any host name (server_name _ or none): edge serves the names it lists, so localhost stands in: list yours'));
    }
    site[INLINE] = {};
    if (!tls) {
      site.tls = 'off';
      site[INLINE].tls = 'as in nginx (no ssl listen); leave out for automatic HTTPS';
    } else {
      tlsOf(s, site, notes, lines, certbot);
      if (s.listens.some((l) => !l.ssl)) {
        site.https_redirect = false;
        site[INLINE].https_redirect = 'nginx served this server over plain HTTP too';
      }
    }
    if (s.redirectOnly) s.routes = [{ match: '/', redirect: { to: 'https://{host}{uri}', status: 301 } }];
    site.routes = s.routes;
    site[NOTES] = lines;
    sites.push({ server: s, site });
  }
  for (const { server, site } of sites) {
    if (site.tls !== 'off' && server.hosts.some((h) => plainToo.has(h))) site.https_redirect = false;
  }
  return sites.map((e) => e.site);
}

function tlsOf(s: Server, site: Obj, notes: Notes, lines: string[], certbot: Map<string, Set<string>>): void {
  const cert = s.cert?.args[0];
  const key = s.key?.args[0];
  if (!cert || !key || cert.includes('$')) {
    lines.push(notes.at(s.d, 'no certificate edge can read (ssl_certificate/ssl_certificate_key): tls: auto obtains one'));
    site.tls = 'auto';
    return;
  }
  const m = CERTBOT_PATH.exec(cert);
  const wildcard = (site.hosts as string[]).some((h) => h.startsWith('*.'));
  if (m && !wildcard) {
    if (!certbot.has(m[1]!)) certbot.set(m[1]!, new Set());
    certbot.get(m[1]!)!.add(m[2]!);
    site.tls = 'auto';
    site[INLINE]!.tls = `certbot's ${m[2]} certificate: \`edge import certbot ${m[1]}\` moves it to edge, which renews it`;
    return;
  }
  site.tls = { cert, key };
  if (m) site[INLINE]!.tls = 'a wildcard: certbot keeps renewing it (edge has no DNS-01 yet)';
}

function ports(servers: Server[], config: Obj, notes: Notes, header: string[], opts: ImportOptions): void {
  const listens = servers.flatMap((s) => s.listens.map((l) => ({ ...l, d: s.d })));
  for (const [ssl, key, fallback, forced] of [[false, 'http_port', 80, opts.httpPort], [true, 'https_port', 443, opts.httpsPort]] as const) {
    const counts = new Map<number, number>();
    for (const l of listens) if (l.ssl === ssl) counts.set(l.port, (counts.get(l.port) ?? 0) + 1);
    const chosen = [...counts].sort((a, b) => b[1] - a[1])[0]?.[0] ?? fallback;
    for (const port of counts.keys()) {
      if (port !== chosen) header.push(notes.add(`listen ${port}${ssl ? ' ssl' : ''}: edge has one ${key} (${chosen}): those servers are served on ${chosen}`));
    }
    const port = forced ?? chosen;
    if (port !== fallback) config[key] = port;
    if (forced !== undefined && forced !== chosen) (config[INLINE] ??= {})[key] = `nginx: ${chosen}`;
  }
  const addresses = new Set(listens.map((l) => l.address ?? '*'));
  if (addresses.size === 1 && !addresses.has('*')) config.bind = [...addresses];
  else if (addresses.size > 1 && [...addresses].some((a) => a !== '*')) {
    header.push(notes.add(`listen addresses ${[...addresses].join(', ')}: edge listens on the same addresses for every site: every address`));
  }
}
