// The config schema: every key with its meaning, default and unit, in one place.
// The JSON Schema in conf/edge.schema.json is generated from this file (npm run schema).

import * as z from 'zod';
import { duration, port, siteHost, size, sizeValue } from './values.ts';
import { checkProxyPool, proxyPoolFields, upstreamsSchema } from './upstream-schema.ts';
import { acmeSchema, checkSiteTls, siteTlsFields } from './tls-schema.ts';
import { checkStaticRoute, compressSchema, staticSchema } from './static-schema.ts';
import { applySiteCache, cacheSchema, checkRouteCache } from './cache-schema.ts';
import { storageSchema } from './storage-schema.ts';
import { workersSchema } from './ops-schema.ts';
import { checkRouteRewrite, rewriteFields } from './rewrite-schema.ts';
import { accessRouteFields, checkProxyProtocol, proxyProtocolSchema, trustedProxiesSchema } from './access-schema.ts';

const routeMatch = z.string({ error: 'expected a path pattern: "/prefix/", "=/exact" or "~regex"' })
  .superRefine((text, ctx) => {
    if (text.startsWith('~')) {
      try {
        new RegExp(text.slice(1));
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: `bad regex: ${(err as Error).message}` });
      }
    } else if (!(text.startsWith('=') ? text.slice(1) : text).startsWith('/')) {
      ctx.addIssue({ code: 'custom', message: `a path pattern starts with "/" ("=/" for exact, "~" for a regex), got "${text}"` });
    }
  })
  .default('/')
  .describe('Which paths the route takes: "/prefix/" (plain prefix), "=/exact" or "~regex" (JavaScript syntax). First matching route wins. Default "/".');

const proxySchema = z.strictObject({
  ...proxyPoolFields,
  timeouts: z.strictObject({
    connect: duration('Time to open a connection to the upstream; past it the client gets 504.', '5s'),
    read: duration('Longest silence while waiting for or reading the upstream response; past it the client gets 504.', '60s'),
  }).prefault({}).describe('Upstream timeouts.'),
  websocket: z.boolean().default(true).describe('Pass WebSocket upgrades through to the upstream. Default true.'),
  buffering: z.strictObject({
    request: z.boolean().default(true).describe('Receive the whole request body (memory, then a temp file) before the upstream request starts, so a slow upload never holds an app worker; false streams it as it arrives (nginx: proxy_request_buffering). Default true.'),
    response: z.boolean().default(true).describe('Read the upstream response as fast as it comes, holding what the client has not taken yet (memory, then a temp file); false passes it at the client\'s pace (nginx: proxy_buffering). text/event-stream and X-Accel-Buffering: no responses always stream. Default true.'),
  }).prefault({}).describe('Buffering between slow clients and the app.'),
}).superRefine(checkProxyPool).describe('Reverse-proxy the request to an upstream (or a pool of them).');

const redirectSchema = z.strictObject({
  to: z.string().min(1).describe('Target URL; {host}, {uri} (path and query) and {path} are replaced.'),
  status: z.union([z.literal(301), z.literal(302), z.literal(303), z.literal(307), z.literal(308)], {
    error: 'redirect status must be 301, 302, 303, 307 or 308',
  }).default(308).describe('Default 308 (permanent, method kept).'),
}).describe('Answer with a redirect.');

const respondSchema = z.strictObject({
  status: z.int().min(200, 'status must be 200-599').max(599, 'status must be 200-599').default(200).describe('Default 200.'),
  body: z.string().default('').describe('Response body text.'),
  headers: z.record(z.string(), z.string()).default({}).describe('Extra response headers.'),
}).describe('Answer with a fixed response.');

export const ACTIONS = ['proxy', 'redirect', 'respond', 'static'] as const;

const routeSchema = z.strictObject({
  match: routeMatch,
  ...rewriteFields,
  proxy: proxySchema.optional(),
  redirect: redirectSchema.optional(),
  respond: respondSchema.optional(),
  static: staticSchema.optional(),
  compress: compressSchema.optional(),
  cache: cacheSchema.optional(),
  ...accessRouteFields,
  max_body_size: sizeValue.optional()
    .describe('Largest request body this route accepts (413 past it); overrides limits.max_body_size.'),
}).superRefine((route, ctx) => {
  checkRouteCache(route, ctx);
  checkRouteRewrite(route, ctx);
  const actions = checkStaticRoute(route, ACTIONS.filter((a) => route[a] !== undefined), ctx);
  if (actions === undefined) return;
  if (actions.length > 1) {
    ctx.addIssue({ code: 'custom', message: `a route has one action, this one has ${actions.join(' and ')}: split it into two routes` });
  } else if (actions.length === 0) {
    ctx.addIssue({ code: 'custom', message: `a route needs an action: ${ACTIONS.join(', ')}` });
  }
});

const siteSchema = z.strictObject({
  hosts: z.array(siteHost, { error: 'expected a list of host names' }).min(1, 'list at least one host')
    .describe('Names this site answers to: exact names, *.wildcards (one label), localhost or IP addresses. Case and port are ignored.'),
  routes: z.array(routeSchema, { error: 'expected a list of routes' }).min(1, 'a site needs at least one route')
    .describe('Tried in order; the first whose match fits the path handles the request.'),
  cache: cacheSchema.optional(),
  ...siteTlsFields,
}).superRefine(checkSiteTls).transform(applySiteCache);

const limitsSchema = z.strictObject({
  max_header_size: size('Largest request head (request line and headers); past it the client gets 431.', '16KiB'),
  header_timeout: duration('Time allowed to receive the request head; past it the client gets 408.', '30s'),
  max_body_size: size('Largest request body; past it the client gets 413. 0 means no limit.', '10MiB'),
  body_timeout: duration('Longest silence while receiving a request body; past it the request is dropped.', '60s'),
  keepalive_timeout: duration('How long an idle client connection is kept open.', '75s'),
}).describe('Limits on what clients may send, on by default.');

const bufferingSchema = z.strictObject({
  temp_dir: z.string().min(1).optional()
    .describe('Folder for request and response bodies past their memory buffers (created 0700; files are unlinked as soon as they are open). Default edge-buffers under the OS temp folder.'),
  max_temp_file_size: size('Most of one response held in a temp file while the client is slower than the app; past it the app is read at the client\'s pace. 0 keeps responses in memory only (nginx: proxy_max_temp_file_size).', '1GiB'),
}).describe('Where buffered bodies go.');

const logSchema = z.strictObject({
  access: z.string().default('stdout').describe('Where access logs go: stdout, stderr, off, or a file path (reopened on SIGUSR1). Default stdout.'),
  format: z.enum(['combined', 'json'], { error: 'log format must be combined or json' }).default('combined')
    .describe('combined (like nginx and Apache) or json (one object per line). Default combined.'),
  error: z.string().default('stderr').describe('Where errors and start-up messages go: stderr, stdout, or a file path. Default stderr.'),
});

const includeSchema = z.union([z.string(), z.array(z.string())], { error: 'expected a glob or a list of globs' })
  .transform((v) => (Array.isArray(v) ? v : [v]))
  .default([])
  .describe('Files (globs, relative to this file) whose sites are added, e.g. conf.d/*.yaml.');

export const configSchema = z.strictObject({
  http_port: port('Port for plain HTTP: ACME HTTP-01 challenges, redirects to HTTPS, and sites with tls: off.', 80),
  https_port: port('Port for HTTPS (HTTP/2 and HTTP/1.1).', 443),
  bind: z.union([z.string(), z.array(z.string())], { error: 'expected an address or a list of addresses' })
    .transform((v) => (Array.isArray(v) ? v : [v]))
    .default([])
    .describe('Addresses to listen on, e.g. 127.0.0.1 or ::1. Default: every address.'),
  trusted_proxies: trustedProxiesSchema,
  proxy_protocol: proxyProtocolSchema,
  grace_period: duration('On stop or reload, how long in-flight requests and WebSockets may take to finish before they are cut.', '30s'),
  workers: workersSchema,
  admin: z.string().default('127.0.0.1:2019').refine((v) => v === 'off' || v.startsWith('unix:/') || /^(\[[0-9a-f:.]+\]|[a-z0-9.-]+):\d{1,5}$/i.test(v), {
    message: 'admin must be host:port, unix:/path or off',
  }).describe('Admin endpoint (health, certificates): host:port, unix:/path, or off. Keep it off public addresses. Default 127.0.0.1:2019.'),
  storage: storageSchema,
  acme: acmeSchema.prefault({}),
  limits: limitsSchema.prefault({}),
  buffering: bufferingSchema.prefault({}),
  log: logSchema.prefault({}),
  include: includeSchema,
  upstreams: upstreamsSchema,
  sites: z.array(siteSchema, { error: 'expected a list of sites' }).default([])
    .describe('The sites edge serves; an included file adds to this list.'),
}).superRefine(checkProxyProtocol).describe('edge configuration (conf/edge.yaml).');

/** What an included file may hold: more sites. */
export const includeFileSchema = z.strictObject({
  sites: z.array(siteSchema, { error: 'expected a list of sites' }).default([]),
});

export type Config = z.output<typeof configSchema>;
export type Site = z.output<typeof siteSchema>;
export type Route = z.output<typeof routeSchema>;
export type ProxyConfig = z.output<typeof proxySchema>;
export type Limits = z.output<typeof limitsSchema>;
export type BufferingConfig = z.output<typeof bufferingSchema>;
export type LogConfig = z.output<typeof logSchema>;
export type AcmeConfig = z.output<typeof acmeSchema>;
