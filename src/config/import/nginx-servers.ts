// One nginx `server { ... }` block → what an edge site needs: its listen ports, names, TLS
// certificate and routes (locations in nginx's matching order), with a note for every directive
// that has no place in edge.

import type { Directive } from './nginx-parse.ts';
import type { Notes } from './nginx-notes.ts';
import { orderRoutes, type Placed } from './nginx-order.ts';
import { parseLocation, redirectOf, routeFor, type Inherited, type Match, type RouteContext } from './nginx-routes.ts';
import { last, size, time } from './nginx-values.ts';
import { NOTES, type Obj } from './yaml-out.ts';

export interface Listen {
  port: number;
  ssl: boolean;
  /** A specific address, or undefined for every address. */
  address?: string;
}

export interface Server {
  d: Directive;
  listens: Listen[];
  hosts: string[];
  catchAll: boolean;
  cert?: Directive;
  key?: Directive;
  /** Only redirects to https:// (certbot's port-80 block and the like). */
  redirectOnly: boolean;
  routes: Obj[];
  /** Comment lines for the site. */
  notes: string[];
}

const SERVER_LEVEL = new Set(['listen', 'server_name', 'ssl_certificate', 'ssl_certificate_key', 'location', 'return', 'rewrite',
  'try_files', 'root', 'index', 'client_max_body_size', 'proxy_read_timeout', 'proxy_connect_timeout', 'gzip']);

export function translateServer(d: Directive, inh: Inherited & { cert?: Directive; key?: Directive }, upstreams: Set<string>, notes: Notes): Server {
  const block = d.block ?? [];
  const server: Server = {
    d, listens: [], hosts: [], catchAll: false, cert: last(block, 'ssl_certificate') ?? inh.cert,
    key: last(block, 'ssl_certificate_key') ?? inh.key, redirectOnly: isRedirectOnly(block), routes: [], notes: [],
  };
  for (const l of block.filter((x) => x.name === 'listen')) listen(l, server, notes);
  if (server.listens.length === 0) server.listens.push({ port: 80, ssl: false });
  if (block.some((x) => x.name === 'ssl' && x.args[0] === 'on')) for (const l of server.listens) l.ssl = true;
  names(block.filter((x) => x.name === 'server_name'), server, notes);
  if (server.redirectOnly) return server;

  const own = serverSettings(block, inh, notes, server.notes);
  const named = new Map<string, Directive>();
  for (const loc of block.filter((x) => x.name === 'location')) {
    const m = parseLocation(loc.args);
    if ('named' in m) named.set(m.named, loc);
  }
  const ctx: RouteContext = { notes, named, upstreams };
  const placed: Placed[] = [];
  const ret = block.find((x) => x.name === 'return');
  if (ret) {
    const { route, notes: lines } = routeFor([ret], { kind: 'first', path: '/' }, own, ctx);
    route.match = '/';
    placed.push(withNotes(route, [...lines, ...(block.some((x) => x.name === 'location') ? [notes.at(ret, 'a server-level return answers every request, as in nginx: the locations are never reached')] : [])], ret));
  }
  for (const rw of block.filter((x) => x.name === 'rewrite')) {
    const lines: string[] = [];
    const redirect = redirectOf(rw, ctx, lines, false);
    if (!redirect) {
      server.notes.push(...lines);
      continue;
    }
    placed.push(withNotes({ match: `~${rw.args[0]}`, redirect }, lines, rw, 'first'));
  }
  for (const loc of block.filter((x) => x.name === 'location')) locations(loc, own, ctx, placed, server.notes, undefined);
  if (!ret && !placed.some((p) => p.match.kind === 'prefix' && p.match.path === '/')) {
    const tryFiles = last(block, 'try_files');
    const { route, notes: lines } = routeFor(tryFiles ? [tryFiles] : [], { kind: 'prefix', path: '/' }, own, ctx);
    placed.push({ match: { kind: 'prefix', path: '/' }, route: withLines(route, [`nginx ${d.file}:${d.line}: the server's own content (no location / in nginx)`, ...lines]), where: `${d.file}:${d.line}` });
  }
  for (const [name, loc] of named) {
    if (!fallsBackTo(block, name)) server.notes.push(notes.at(loc, 'a named location no try_files uses, dropped'));
  }
  for (const x of block) if (!SERVER_LEVEL.has(x.name)) server.notes.push(notes.dropped(x));
  server.routes = orderRoutes(placed, notes);
  return server;
}

function withLines(route: Obj, lines: string[]): Obj {
  if (lines.length > 0) route[NOTES] = [...lines, ...(route[NOTES] ?? [])];
  return route;
}

function withNotes(route: Obj, lines: string[], d: Directive, kind: Match['kind'] = 'first'): Placed {
  return { match: { kind, path: '/' }, route: withLines(route, [`nginx ${d.file}:${d.line}: server-level ${d.name}`, ...lines]), where: `${d.file}:${d.line}` };
}

function locations(loc: Directive, inh: Inherited, ctx: RouteContext, placed: Placed[], siteNotes: string[], parent: Directive | undefined): void {
  const m = parseLocation(loc.args);
  if ('named' in m) return;
  if ('bad' in m) {
    siteNotes.push(ctx.notes.at(loc, `${m.bad}: the location is not translated`));
    return;
  }
  const block = loc.block ?? [];
  const { route, notes: lines } = routeFor(block, m, inh, ctx);
  const head = `nginx ${loc.file}:${loc.line}: location ${loc.args.join(' ')}`;
  const nested = parent ? [ctx.notes.at(loc, `nested in the location at ${parent.file}:${parent.line}: ordered among the server's routes`)] : [];
  placed.push({ match: m, route: withLines(route, [head, ...nested, ...lines]), where: `${loc.file}:${loc.line}` });
  const own: Inherited = { ...inh };
  for (const x of block) {
    if (x.name === 'root') own.root = x;
    if (x.name === 'index') own.index = x;
  }
  for (const inner of block.filter((x) => x.name === 'location')) locations(inner, own, ctx, placed, siteNotes, loc);
}

function serverSettings(block: Directive[], inh: Inherited, notes: Notes, lines: string[]): Inherited {
  const own: Inherited = { ...inh };
  for (const d of block) {
    const arg = d.args[0] ?? '';
    if (d.name === 'root') own.root = d;
    else if (d.name === 'index') own.index = d;
    else if (d.name === 'gzip') own.gzip = arg === 'on';
    else if (d.name === 'client_max_body_size') own.maxBody = size(arg) ?? bad(d);
    else if (d.name === 'proxy_read_timeout') own.read = time(arg) ?? bad(d);
    else if (d.name === 'proxy_connect_timeout') own.connect = time(arg) ?? bad(d);
  }
  return own;
  function bad(d: Directive): undefined {
    lines.push(notes.at(d, 'not a value edge reads, dropped'));
    return undefined;
  }
}

function listen(d: Directive, server: Server, notes: Notes): void {
  const [addr = '80', ...flags] = d.args;
  if (addr.startsWith('unix:')) {
    server.notes.push(notes.at(d, 'edge listens on TCP ports only, dropped'));
    return;
  }
  const m = /^(?:(.*):)?(\d+)$/.exec(addr);
  const port = m ? Number(m[2]) : 80;
  const given = m ? m[1] : addr;
  const host = given && given !== '*' && given !== '[::]' ? given.replace(/^\[|\]$/g, '') : undefined;
  const l: Listen = { port, ssl: flags.includes('ssl'), ...(host ? { address: host } : {}) };
  server.listens.push(l);
  const other = flags.filter((f) => !['ssl', 'http2', 'default_server', 'default'].includes(f) && !f.startsWith('ipv6only='));
  if (other.length > 0) server.notes.push(notes.at(d, `${other.join(' ')}: no edge equivalent, dropped`));
}

function names(list: Directive[], server: Server, notes: Notes): void {
  if (list.length === 0) server.catchAll = true;
  for (const d of list) {
    for (const name of d.args) {
      const lower = name.toLowerCase();
      if (lower === '_' || lower === '' || lower === 'localhost.localdomain') server.catchAll ||= lower !== 'localhost.localdomain';
      else if (lower.startsWith('~') || lower.includes('$')) server.notes.push(notes.at(d, `${name}: edge has no regex or variable host names, dropped`));
      else if (lower.endsWith('.*')) server.notes.push(notes.at(d, `${name}: edge has no trailing wildcards, dropped`));
      else if (lower.startsWith('.')) {
        server.hosts.push(lower.slice(1), `*${lower}`);
        server.notes.push(notes.at(d, `${name}: as ${lower.slice(1)} and *${lower} (edge's wildcard covers one label; nginx's any depth)`));
      } else server.hosts.push(lower);
    }
  }
  server.hosts = [...new Set(server.hosts)];
}

/** Whether a try_files in `block` or its locations ends in `name`. */
function fallsBackTo(block: Directive[], name: string): boolean {
  return block.some((d) => (d.name === 'try_files' && d.args.at(-1) === name) || (d.name === 'location' && fallsBackTo(d.block ?? [], name)));
}

/** listen/server_name and a return to https:// (maybe inside certbot's `if ($host = ...)`), nothing else. */
function isRedirectOnly(block: Directive[]): boolean {
  let https = false;
  for (const d of block) {
    if (d.name === 'listen' || d.name === 'server_name') continue;
    if (d.name === 'return') {
      if ((d.args[1] ?? d.args[0] ?? '').startsWith('https://')) https = true;
      else if (!/^\d{3}$/.test(d.args[0] ?? '') || d.args.length > 1) return false;
      continue;
    }
    if (d.name === 'if' && d.block?.length === 1 && d.block[0]!.name === 'return' && (d.block[0]!.args[1] ?? '').startsWith('https://')) {
      https = true;
      continue;
    }
    return false;
  }
  return https;
}
