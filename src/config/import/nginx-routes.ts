// One nginx location (or a server's own content) → one edge route: proxy_pass, return, simple
// redirecting rewrites, root/alias/index/try_files, and the settings edge has on a route. Where
// the location sits among the others is nginx-order.ts's job.

import { join } from 'node:path';
import type { Directive } from './nginx-parse.ts';
import type { Notes } from './nginx-notes.ts';
import { last, proxyTarget, size, target, time } from './nginx-values.ts';
import { INLINE, type Obj } from './yaml-out.ts';

/** Settings a location takes from the server and http blocks around it. */
export interface Inherited {
  root?: Directive;
  index?: Directive;
  maxBody?: string;
  read?: string;
  connect?: string;
  gzip?: boolean;
}

export interface RouteContext {
  notes: Notes;
  /** The server's named locations (@name), for try_files fallbacks. */
  named: Map<string, Directive>;
  upstreams: Set<string>;
}

export type MatchKind = 'first' | 'exact' | 'stop' | 'regex' | 'prefix';

/** What a location matches: its nginx kind and edge's pattern for it. */
export interface Match {
  kind: MatchKind;
  /** The path (exact, prefix) or the edge regex (without "~"). */
  path: string;
}

/** nginx's location arguments → the match, or undefined for a named location. */
export function parseLocation(args: string[]): Match | { named: string } | { bad: string } {
  let [mod, path] = args.length >= 2 ? [args[0]!, args[1]!] : ['', args[0] ?? ''];
  if (args.length === 1) {
    const m = /^(=|\^~|~\*|~)(.+)$/.exec(path);
    if (m) [mod, path] = [m[1]!, m[2]!];
  }
  if (mod === '' && path.startsWith('@')) return { named: path };
  if (mod === '=') return { kind: 'exact', path };
  if (mod === '^~') return { kind: 'stop', path };
  if (mod === '~' || mod === '~*') {
    const re = mod === '~*' ? `(?i:${path})` : path;
    try {
      new RegExp(re);
    } catch (err) {
      return { bad: `the regex is not valid in JavaScript (${(err as Error).message})` };
    }
    return { kind: 'regex', path: re };
  }
  if (mod !== '') return { bad: `unknown location modifier ${mod}` };
  return { kind: 'prefix', path };
}

const CATCH_ALL = /^\^?\/?\(\.\*\)\$?$/;

/** The route for a block's content; `notes` collects comment lines for it. */
export function routeFor(block: Directive[], match: Match, inh: Inherited, ctx: RouteContext): { route: Obj; notes: string[] } {
  const notes: string[] = [];
  const own = settings(block, inh, ctx, notes);
  const route: Obj = { match: pattern(match) };
  const ret = last(block, 'return');
  const rewrite = block.find((d) => d.name === 'rewrite');
  const proxyPass = last(block, 'proxy_pass');
  const redirect = rewrite && redirectOf(rewrite, ctx, notes, true);
  for (const d of block) if (d.name === 'rewrite' && d !== rewrite) notes.push(ctx.notes.at(d, 'only the first rewrite of a block is translated, dropped'));
  if (ret) {
    Object.assign(route, returnAction(ret, ctx, notes));
  } else if (redirect) {
    route.redirect = redirect;
  } else if (proxyPass) {
    route.proxy = proxyOf(proxyPass, match, own, ctx, notes, route);
  } else if (block.some((d) => /^(fastcgi|uwsgi|scgi|grpc|memcached)_pass$/.test(d.name) || d.name.includes('_by_lua'))) {
    const d = block.find((x) => /_pass$/.test(x.name) || x.name.includes('_by_lua'))!;
    notes.push(ctx.notes.at(d, 'no edge equivalent: the route answers 501 until it is rewritten'));
    route.respond = { status: 501, body: `not translated from nginx: ${d.name}\n` };
  } else {
    const files = staticOf(block, match, own, ctx, notes, route);
    if (files) route.static = files;
    else route.respond = { status: 501, body: 'not translated from nginx\n' };
  }
  // only a proxy reads request bodies: files, redirects and fixed answers ignore them
  if (own.maxBody !== undefined && route.proxy) route.max_body_size = own.maxBody;
  if (own.gzip && (route.proxy || route.static)) {
    route.compress = true;
    (route[INLINE] ??= {}).compress = 'nginx: gzip on (edge offers zstd and br too)';
  }
  return { route, notes };
}

function pattern(m: Match): string {
  return m.kind === 'exact' ? `=${m.path}` : m.kind === 'regex' ? `~${m.path}` : m.path;
}

/** The block's own simple settings over the inherited ones; what they cannot say goes to notes. */
function settings(block: Directive[], inh: Inherited, ctx: RouteContext, notes: string[]): Inherited {
  const own = { ...inh };
  for (const d of block) {
    const arg = d.args[0] ?? '';
    if (d.name === 'client_max_body_size') own.maxBody = size(arg) ?? note(d, 'not a size edge reads, dropped');
    else if (d.name === 'proxy_read_timeout') own.read = time(arg) ?? note(d, 'not a time edge reads, dropped');
    else if (d.name === 'proxy_connect_timeout') own.connect = time(arg) ?? note(d, 'not a time edge reads, dropped');
    else if (d.name === 'gzip') own.gzip = arg === 'on';
    else if (d.name === 'root') own.root = d;
    else if (d.name === 'index') own.index = d;
    // a *_pass or Lua handler makes the route a 501, said once there
    else if (!HANDLED.has(d.name) && !/_pass$|_by_lua/.test(d.name)) notes.push(droppedLine(d, ctx));
  }
  return own;
  function note(d: Directive, why: string): undefined {
    notes.push(ctx.notes.at(d, why));
    return undefined;
  }
}

const HANDLED = new Set(['return', 'rewrite', 'proxy_pass', 'alias', 'try_files', 'location']);

/** Request headers edge sends by itself are no loss; others are. */
function droppedLine(d: Directive, ctx: RouteContext): string {
  if (d.name === 'proxy_set_header') {
    const [name = '', value = ''] = d.args;
    const lower = name.toLowerCase();
    if (lower === 'host' && /^\$(http_)?host$/.test(value)) return ctx.notes.at(d, 'edge passes the client\'s Host already, dropped');
    if (['x-forwarded-for', 'x-real-ip', 'x-forwarded-proto', 'x-forwarded-host'].includes(lower)) return ctx.notes.at(d, 'edge sets X-Forwarded-For, X-Real-IP, X-Forwarded-Proto and X-Forwarded-Host already, dropped');
    if (lower === 'upgrade' || lower === 'connection') return ctx.notes.at(d, 'edge passes WebSocket upgrades already (proxy.websocket), dropped');
  }
  return ctx.notes.dropped(d);
}

function returnAction(d: Directive, ctx: RouteContext, notes: string[]): Obj {
  const [first = '', text] = d.args;
  const code = /^\d{3}$/.test(first) ? Number(first) : 302;
  const url = /^\d{3}$/.test(first) ? text : first;
  if ([301, 302, 303, 307, 308].includes(code) && url !== undefined) {
    const t = target(url);
    if ('to' in t) return { redirect: { to: t.to, status: code } };
    notes.push(ctx.notes.at(d, `edge has no ${t.missing} in redirect targets: the route answers 501 until it is rewritten`));
    return { respond: { status: 501, body: 'redirect not translated from nginx\n' } };
  }
  if (code === 444) {
    notes.push(ctx.notes.at(d, 'edge cannot close a connection without an answer: answers 403 instead'));
    return { respond: { status: 403 } };
  }
  if (code < 200 || code > 599 || (code >= 300 && code < 400)) {
    notes.push(ctx.notes.at(d, 'edge answers 200-599 (redirects with a URL): answers 501 until it is rewritten'));
    return { respond: { status: 501 } };
  }
  const respond: Obj = { status: code };
  if (text !== undefined) {
    if (text.includes('$')) notes.push(ctx.notes.at(d, 'edge has no variables: the body is sent as written'));
    respond.body = text;
  }
  return { respond };
}

/** `rewrite REGEX URL permanent|redirect` → a redirect; `catchAll`: only a regex taking every path. */
export function redirectOf(d: Directive, ctx: RouteContext, notes: string[], catchAll: boolean): Obj | undefined {
  const [regex = '', repl = '', flag = ''] = d.args;
  const external = /^(https?:\/\/|\$scheme)/.test(repl);
  if (flag !== 'permanent' && flag !== 'redirect' && !external) {
    notes.push(ctx.notes.at(d, 'edge has no internal rewrites yet, dropped'));
    return undefined;
  }
  const status = flag === 'permanent' ? 301 : 302;
  const everything = CATCH_ALL.test(regex);
  let to = repl.replace(/\?$/, '');
  if (everything) to = to.replace(/\/?\$1/, '{uri}');
  if (/\$\d/.test(to) || (catchAll && !everything)) {
    notes.push(ctx.notes.at(d, 'edge redirects cannot use regex captures or conditions yet, dropped'));
    return undefined;
  }
  const t = target(to);
  if ('missing' in t) {
    notes.push(ctx.notes.at(d, `edge has no ${t.missing} in redirect targets, dropped`));
    return undefined;
  }
  return { to: t.to, status };
}

/** `route`: the location's own route (not a named location's), which may take strip_prefix and rewrite for proxy_pass's URI. */
function proxyOf(d: Directive, match: Match, own: Inherited, ctx: RouteContext, notes: string[], route?: Obj): Obj {
  const t = proxyTarget(d.args[0] ?? '');
  const proxy: Obj = {};
  if (t.kind === 'bad') {
    notes.push(ctx.notes.at(d, `${t.why}: the route proxies to 127.0.0.1:8000 until it is rewritten`));
    proxy.to = '127.0.0.1:8000';
  } else {
    if (t.kind === 'name' && ctx.upstreams.has(t.name)) proxy.upstream = t.name;
    else proxy.to = t.kind === 'name' ? `${t.name}:80` : t.address;
    const same = t.uri === '' || (match.kind === 'prefix' && t.uri === match.path);
    // nginx replaces the location's prefix with the URI: strip the prefix, then put the URI in front
    const replaceable = route !== undefined && match.kind === 'prefix' && match.path.endsWith('/') && match.path !== '/' && t.uri.startsWith('/') && t.uri.endsWith('/') && !/[?#$]/.test(t.uri);
    if (!same && replaceable) {
      route.strip_prefix = match.path.slice(0, -1);
      if (t.uri !== '/') route.rewrite = { from: '^/(.*)$', to: `${t.uri}$1` };
    } else if (!same) {
      notes.push(ctx.notes.at(d, `the URI part "${t.uri}" is not translated (edge's strip_prefix and rewrite take it for a location /prefix/ and a URI ending in "/"): the upstream gets the request's own path`));
    }
    if (t.kind === 'address' && t.address.startsWith('https://')) {
      notes.push(ctx.notes.at(d, 'edge verifies an https upstream\'s certificate (nginx does not without proxy_ssl_verify on): set proxy.tls.ca to the CA that signs it, or tls.verify: false'));
    }
  }
  if (own.read || own.connect) proxy.timeouts = { ...(own.connect ? { connect: own.connect } : {}), ...(own.read ? { read: own.read } : {}) };
  return proxy;
}

function staticOf(block: Directive[], match: Match, own: Inherited, ctx: RouteContext, notes: string[], route: Obj): Obj | undefined {
  const alias = last(block, 'alias');
  const tryFiles = last(block, 'try_files');
  const files: Obj = {};
  const entries: string[] = [];
  if (tryFiles) {
    for (const [i, entry] of tryFiles.args.entries()) {
      const final = i === tryFiles.args.length - 1;
      if (final && entry.startsWith('@')) {
        const named = ctx.named.get(entry);
        const pass = named && last(named.block, 'proxy_pass');
        if (pass) {
          entries.push('@proxy');
          route.proxy = proxyOf(pass, match, settings(named.block!.filter((x) => x.name !== 'proxy_pass'), own, ctx, notes), ctx, notes);
          continue;
        }
        notes.push(ctx.notes.at(tryFiles, `${entry} does not proxy, so edge cannot fall back to it: =404 instead`));
        entries.push('=404');
      } else if (/^=\d{3}$/.test(entry) || /^\$uri[^$]*$/.test(entry) || /^\/[^$]*(\$uri[^$]*)?$/.test(entry)) {
        entries.push(entry);
      } else {
        notes.push(ctx.notes.at(tryFiles, `entry ${entry}: edge's try_files takes $uri forms, /paths, =CODE and @proxy; dropped`));
      }
    }
  }
  const rootPaths = entries.some((e) => e.startsWith('/'));
  if (alias) {
    if (match.kind !== 'prefix' && match.kind !== 'stop') {
      notes.push(ctx.notes.at(alias, 'alias in a regex or exact location is not translated'));
      return undefined;
    }
    files.root = alias.args[0]!;
  } else {
    const root = own.root?.args[0] ?? '/usr/share/nginx/html';
    if (!own.root) notes.push(ctx.notes.add(`${block[0] ? `${block[0].file}:${block[0].line}` : 'nginx'}: no root: nginx's default /usr/share/nginx/html is used`));
    // edge takes a prefix off the path (as alias does); nginx's root keeps it
    if (match.kind === 'prefix' && match.path !== '/' && rootPaths) {
      route.match = `~^${escape(match.path)}`;
      files.root = root;
    } else {
      files.root = match.kind === 'prefix' && match.path !== '/' ? join(root, match.path) : root;
    }
  }
  if (own.index) files.index = own.index.args;
  if (entries.length > 0 && !(entries.length === 2 && entries[0] === '$uri' && entries[1] === '$uri/')) files.try_files = entries;
  return files;
}

export function escape(path: string): string {
  return path.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}
