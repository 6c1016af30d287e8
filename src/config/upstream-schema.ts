// Upstream pools in config: the addresses of a route's `proxy.to` (each with weight, max_conns,
// backup), how requests are spread over them (`balance`), when one is taken out of rotation
// (passive `max_fails`, active `health`) and how failed requests are retried. A pool is written
// inline in a route's proxy or named in the top-level `upstreams:` section and shared by routes.

import * as z from 'zod';
import { parseUpstream, type UpstreamAddress, type UpstreamTls } from './address.ts';
import type { Problem } from './errors.ts';
import type { Locate } from './issues.ts';
import { durationValue } from './values.ts';
import { resolvePool } from './runtime.ts';
import { checkUpstreamTls, upstreamTlsSchema } from './upstream-tls-schema.ts';

export const POLICIES = ['round_robin', 'least_conn', 'random', 'p2c', 'ip_hash', 'first'] as const;

export type Balance =
  | { policy: (typeof POLICIES)[number] }
  /** Consistent hashing on a request header (lower case) or a cookie. */
  | { policy: 'header' | 'cookie'; name: string };

const BALANCE_HINT = `balance is ${POLICIES.join(', ')}, header:NAME or cookie:NAME`;

/** `least_conn`, `header:X-User`, `cookie:session` → Balance, or an error message. */
export function parseBalance(text: string): Balance | string {
  if ((POLICIES as readonly string[]).includes(text)) return { policy: text as (typeof POLICIES)[number] };
  const m = /^(header|cookie):([!#$%&'*+.^_`|~0-9A-Za-z-]+)$/.exec(text);
  if (!m) return `${BALANCE_HINT}, got "${text}"`;
  return { policy: m[1] as 'header' | 'cookie', name: m[1] === 'header' ? m[2]!.toLowerCase() : m[2]! };
}

export interface UpstreamSpec {
  address: UpstreamAddress;
  weight: number;
  max_conns: number;
  backup: boolean;
}

const ADDRESS_ERROR = 'expected an upstream address (host:port, http://host:port, https://host:port or unix:/path)';

function parseAddress(text: string, ctx: z.RefinementCtx): UpstreamAddress {
  const parsed = parseUpstream(text);
  if (typeof parsed === 'string') {
    // not fatal, so the unions around it report this message rather than their own
    ctx.addIssue({ code: 'custom', message: parsed, continue: true });
    return z.NEVER;
  }
  return parsed;
}

const address = z.string({ error: ADDRESS_ERROR }).transform(parseAddress);

// one transform, not address.transform(...): a pipe after a failed step would hide its message
const addressEntry = z.string({ error: ADDRESS_ERROR })
  .transform((text, ctx): UpstreamSpec => ({ address: parseAddress(text, ctx), weight: 1, max_conns: 0, backup: false }));

const upstreamObject = z.strictObject({
  address: address.describe('"host:port", "http://host:port", "https://host:port" or "unix:/path.sock". Required.'),
  weight: z.int().min(1, 'weight must be 1-1000').max(1000, 'weight must be 1-1000').default(1)
    .describe('Share of requests relative to the others (round_robin, random, least_conn, p2c, hashing). Default 1.'),
  max_conns: z.int().min(0, 'max_conns must be 0 or more').default(0)
    .describe('Most requests in flight to this upstream at once; past it others are picked, or 503. 0 means no limit. Default 0.'),
  backup: z.boolean().default(false)
    .describe('Used only while no other (non-backup) upstream of the pool is available. Default false.'),
});

const upstreamEntry = z.union([
  addressEntry,
  upstreamObject,
], { error: `${ADDRESS_ERROR}, or { address, weight, max_conns, backup }` });

export const toSchema = z.union([upstreamEntry, z.array(upstreamEntry).min(1, 'list at least one upstream')], {
  error: `${ADDRESS_ERROR} or a list of them`,
})
  .transform((to): UpstreamSpec[] => (Array.isArray(to) ? to : [to]))
  .describe('Upstream(s): "host:port", "http://host:port", "https://host:port" (certificate verified, see tls) or "unix:/path.sock", or { address, weight, max_conns, backup }; several form a pool spread by balance.');

const healthSchema = z.strictObject({
  path: z.string({ error: 'expected the path to check, e.g. /health' }).startsWith('/', 'the health path starts with "/"')
    .describe('Path requested (GET) from each upstream. Required.'),
  interval: durationValue.prefault('5s').describe('Time between checks of each upstream. Default 5s.'),
  timeout: durationValue.prefault('2s').describe('A check not answered within this fails. Default 2s.'),
  expect_status: z.int().min(100, 'expect_status must be 100-599').max(599, 'expect_status must be 100-599').optional()
    .describe('Status a healthy upstream answers. Default: any 2xx or 3xx.'),
  passes: z.int().min(1, 'passes must be at least 1').default(1)
    .describe('Successful checks in a row that bring a down upstream back. Default 1.'),
  fails: z.int().min(1, 'fails must be at least 1').default(1)
    .describe('Failed checks in a row that take an upstream down. Default 1.'),
}).describe('Active health checks, over the same TCP or Unix socket as requests.');

export type HealthConfig = z.output<typeof healthSchema>;

const failStatus = z.int().min(500, 'fail_status lists 5xx statuses').max(599, 'fail_status lists 5xx statuses');

/** The pool settings, each optional so a route naming a shared pool can be told not to set them. */
const poolFields = {
  balance: z.string({ error: BALANCE_HINT }).transform((text, ctx): Balance => {
    const parsed = parseBalance(text);
    if (typeof parsed === 'string') {
      ctx.addIssue({ code: 'custom', message: parsed });
      return z.NEVER;
    }
    return parsed;
  }).optional()
    .describe(`How requests are spread: round_robin (smooth, weighted), least_conn (fewest in flight), random, p2c (the less loaded of two random picks), ip_hash (client address), header:NAME or cookie:NAME (consistent hashing: adding an upstream moves few keys), first (the first available, in order: failover). Default round_robin.`),
  max_fails: z.int().min(0, 'max_fails must be 0 or more').optional()
    .describe('Failures (connection errors, timeouts, fail_status answers) within fail_timeout that take an upstream down for fail_timeout; 0 never does. Default 1.'),
  fail_timeout: durationValue.optional()
    .describe('The window failures are counted in, and how long an upstream stays down (with health checks: until they pass). Default 10s.'),
  fail_status: z.array(failStatus, { error: 'expected a list of statuses, e.g. [502, 503]' }).optional()
    .describe('Upstream answers that count as failures; an idempotent request that gets one is retried elsewhere. Default [] (none).'),
  health: healthSchema.optional(),
  slow_start: durationValue.optional()
    .describe('An upstream back in rotation gets its weight ramped up from a tenth over this time. Default off.'),
  retries: z.int().min(0, 'retries must be 0 or more').optional()
    .describe('How many times a failed request is sent to another upstream: one that could not connect, or an idempotent one (GET, HEAD, OPTIONS, PUT, DELETE) whose upstream failed before answering. Read timeouts are not retried. Default 2.'),
  try_duration: durationValue.optional()
    .describe('No retry starts after the request has been trying this long. Default 5s.'),
  tls: upstreamTlsSchema.optional(),
};

const POOL_KEYS = Object.keys(poolFields) as (keyof typeof poolFields)[];

export interface PoolConfig {
  to: UpstreamSpec[];
  balance: Balance;
  max_fails: number;
  fail_timeout: number;
  fail_status: number[];
  health: HealthConfig | undefined;
  slow_start: number;
  retries: number;
  try_duration: number;
  tls: UpstreamTls | undefined;
}

/** The keys a route's `proxy:` takes for its pool: an inline one (`to` and settings) or a named one. */
export const proxyPoolFields = {
  to: toSchema.optional(),
  upstream: z.string({ error: 'expected the name of a pool under upstreams:' }).optional()
    .describe('Name of a pool in the top-level upstreams: section, instead of to. Routes naming the same pool share its health state.'),
  ...poolFields,
};

/** A route's proxy has either `to` (and maybe pool settings) or `upstream` (settings live with the pool). */
export function checkProxyPool(proxy: { to?: unknown; upstream?: string } & Record<string, unknown>, ctx: z.RefinementCtx): void {
  if (proxy.upstream !== undefined) {
    if (proxy.to !== undefined) {
      ctx.addIssue({ code: 'custom', message: 'proxy has both to and upstream: use to for addresses here, or upstream to name a shared pool' });
    }
    const misplaced = POOL_KEYS.find((k) => proxy[k] !== undefined);
    if (misplaced) {
      ctx.addIssue({ code: 'custom', path: [misplaced], message: `${misplaced} belongs to the pool upstreams.${proxy.upstream}, not to a route that names it` });
    }
  } else if (proxy.to === undefined) {
    ctx.addIssue({ code: 'custom', message: 'missing required key "to" (the upstream addresses), or "upstream" naming a pool under upstreams:' });
  } else {
    checkUpstreamTls(proxy, ctx);
  }
}

const poolName = z.string().regex(/^[A-Za-z0-9_.-]+$/, 'a pool name is letters, digits, "_", "." and "-"');

const namedPool = z.strictObject({ to: toSchema, ...poolFields }).superRefine(checkUpstreamTls).transform(resolvePool)
  .describe('A pool of upstreams that routes name with proxy: { upstream: NAME }.');

export const upstreamsSchema = z.record(poolName, namedPool, { error: 'expected pools by name: upstreams: { app: { to: [...] } }' })
  .default({})
  .describe('Named upstream pools, shared by the routes that name them (and so is their health state).');

/** Routes naming a pool that is not under upstreams: (checked after includes are merged). */
export function unknownPools(
  config: { upstreams: Record<string, PoolConfig>; sites: { routes: { proxy?: { upstream?: string } }[] }[] },
  locate: Locate,
  pathIn: (path: readonly PropertyKey[]) => string,
): Problem[] {
  const known = Object.keys(config.upstreams);
  return config.sites.flatMap((site, s) => site.routes.flatMap((route, r) => {
    const name = route.proxy?.upstream;
    if (name === undefined || name in config.upstreams) return [];
    const path = ['sites', s, 'routes', r, 'proxy', 'upstream'];
    const hint = known.length > 0 ? `known pools: ${known.join(', ')}` : 'there is no upstreams: section';
    return [{ where: locate(path), path: pathIn(path), message: `no pool named "${name}" under upstreams: (${hint})`, severity: 'error' as const }];
  }));
}
