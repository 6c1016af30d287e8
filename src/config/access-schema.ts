// Who may reach what: the top-level `trusted_proxies` (whose X-Forwarded-For edge believes) and a
// route's `access`, `rate_limit` and `conn_limit`. Addresses and ranges are checked here, so a bad
// one is a config error with its line and column; the request path parses them once per config.

import { readFileSync } from 'node:fs';
import * as z from 'zod';
import { parseRange } from '../http/address-ranges.ts';
import { BCRYPT, hashKind, parseHtpasswd } from './htpasswd.ts';

const addressRange = z.string({ error: 'expected an IP address or CIDR range' }).superRefine((text, ctx) => {
  const range = parseRange(text);
  if (typeof range === 'string') ctx.addIssue({ code: 'custom', message: range });
});

export const trustedProxiesSchema = z.array(addressRange, { error: 'expected a list of IP addresses and CIDR ranges' })
  .default([])
  .describe('Proxies and load balancers in front of edge (IPs and CIDR ranges, IPv4 and IPv6). For a connection from one of them, the client is the right-most address of X-Forwarded-For that is not itself trusted (nginx: set_real_ip_from with real_ip_recursive on); that address is what the access log, X-Forwarded-For, X-Real-IP, ip_hash, access rules and rate limits see. From anyone else the header is not believed. Default []: nothing a client sends changes its address.');

export const proxyProtocolSchema = z.boolean({ error: 'proxy_protocol is true or false' }).default(false)
  .describe('Every connection to the HTTP and HTTPS ports opens with a PROXY header (v1 or v2, as HAProxy, AWS NLB and other L4 balancers send it) naming the client; only connections from trusted_proxies are taken, others are closed. Needs trusted_proxies; a change needs a restart. Default false.');

/** proxy_protocol believes only trusted_proxies, so it needs some. */
export function checkProxyProtocol(config: { proxy_protocol: boolean; trusted_proxies: string[] }, ctx: z.RefinementCtx): void {
  if (config.proxy_protocol && config.trusted_proxies.length === 0) {
    ctx.addIssue({ code: 'custom', path: ['proxy_protocol'], message: 'proxy_protocol takes connections from trusted_proxies only: list the balancer\'s addresses there' });
  }
}

const accessEntry = z.string({ error: 'expected an IP address, a CIDR range or all' }).superRefine((text, ctx) => {
  if (text === 'all') return;
  const range = parseRange(text);
  if (typeof range === 'string') ctx.addIssue({ code: 'custom', message: `${range}, or all` });
});

const entryList = (what: string) => z.array(accessEntry, { error: `expected a list of addresses, CIDR ranges or all ${what}` })
  .min(1, 'list at least one address, range or all');

const bcryptHash = z.string({ error: 'expected a bcrypt hash' }).superRefine((hash, ctx) => {
  if (!BCRYPT.test(hash)) ctx.addIssue({ code: 'custom', message: `${hashKind(hash)}; edge takes bcrypt hashes only (htpasswd -nB USER, or bcryptjs)` });
});

const basicAuthSchema = z.strictObject({
  realm: z.string().min(1).refine((v) => !/["\\\r\n]/.test(v), 'realm cannot hold quotes, backslashes or line breaks').default('edge')
    .describe('Shown by the browser\'s login prompt (WWW-Authenticate: Basic realm="..."). Default edge.'),
  users: z.record(z.string().min(1).refine((u) => !u.includes(':'), 'a user name cannot hold ":"'), bcryptHash).default({})
    .describe('User names and their bcrypt hashes ($2b$..., from htpasswd -nB USER).'),
  users_file: z.string().min(1).optional()
    .describe('An htpasswd file of user:bcrypt-hash lines (htpasswd -B), read at start and at each reload; any other kind of hash is a config error with the file\'s line. Relative to the working directory.'),
  forward_auth: z.boolean().default(false)
    .describe('Pass the client\'s Authorization header on to the upstream. Default false: the password stays at edge.'),
}).transform((auth, ctx) => {
  const users = { ...auth.users };
  if (auth.users_file !== undefined) {
    let text: string;
    try {
      text = readFileSync(auth.users_file, 'utf8');
    } catch (err) {
      ctx.addIssue({ code: 'custom', path: ['users_file'], message: `cannot read ${auth.users_file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` });
      return z.NEVER;
    }
    const parsed = parseHtpasswd(text);
    for (const p of parsed.problems) ctx.addIssue({ code: 'custom', path: ['users_file'], message: `${auth.users_file}:${p.line}: ${p.message}` });
    if (parsed.problems.length > 0) return z.NEVER;
    Object.assign(users, parsed.users);
  }
  if (Object.keys(users).length === 0) {
    ctx.addIssue({ code: 'custom', message: 'basic_auth needs users or a users_file with at least one user' });
    return z.NEVER;
  }
  return { realm: auth.realm, users, forward_auth: auth.forward_auth };
}).describe('HTTP Basic authentication: 401 with WWW-Authenticate until the client sends a listed user and its password.');

export const accessSchema = z.strictObject({
  allow: entryList('allowed').optional()
    .describe('Addresses and CIDR ranges (IPv4, IPv6) let in, or all. Like nginx\'s allow.'),
  deny: entryList('refused').optional()
    .describe('Addresses and CIDR ranges refused with 403, or all. Like nginx\'s deny. Between allow and deny, the most specific entry that matches the client wins (a /32 over a /8, either over all; deny on a tie), which is nginx\'s first match for lists written specific-first. A client no entry matches is let in only if there is no allow list. No lists: everyone.'),
  basic_auth: basicAuthSchema.optional(),
}).describe('Who may use this route; checked before anything else the route does, so a refused client never reaches the upstream.');

export type AccessConfig = z.output<typeof accessSchema>;
export type BasicAuthConfig = z.output<typeof basicAuthSchema>;

const RATE_HINT = 'use e.g. 10/s, 300/m, 1000/h';

const rateValue = z.string({ error: `expected a rate (${RATE_HINT})` }).transform((text, ctx) => {
  const m = /^(\d+(?:\.\d+)?)\s*r?\/(s|m|h)$/.exec(text.trim());
  const count = m ? Number(m[1]) : 0;
  if (!m || count <= 0) {
    ctx.addIssue({ code: 'custom', message: `bad rate ${JSON.stringify(text)} (${RATE_HINT})` });
    return z.NEVER;
  }
  return { count, per_second: count / { s: 1, m: 60, h: 3600 }[m[2] as 's' | 'm' | 'h'] };
});

/** header:NAME with a header field name as RFC 9110 5.1 allows. */
const limitKey = z.string({ error: 'expected client_ip or header:NAME' })
  .refine((v) => v === 'client_ip' || /^header:[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(v), 'key is client_ip or header:NAME (e.g. header:X-Api-Key)')
  .transform((v) => (v === 'client_ip' ? v : v.toLowerCase()))
  .default('client_ip')
  .describe('What the limit counts by: client_ip (as trusted_proxies resolved it) or header:NAME (requests without the header count by client_ip). Default client_ip.');

const rateLimitSchema = z.strictObject({
  rate: rateValue.describe('Requests per key allowed on average: N/s, N/m or N/h. Required.'),
  burst: z.int({ error: 'expected a whole number of requests' }).min(1, 'burst must be at least 1').optional()
    .describe('How many requests a key may send at once before the rate applies (the token bucket\'s size). Default: one second\'s worth, at least 1.'),
  key: limitKey,
}).transform((limit) => ({
  per_second: limit.rate.per_second,
  burst: limit.burst ?? Math.max(1, Math.ceil(limit.rate.per_second)),
  key: limit.key,
})).describe('A token bucket per key (nginx: limit_req with nodelay): past it, 429 with Retry-After, and the upstream is not asked. With storage: redis://... the count is shared by the fleet through that Redis (each process counts alone while it is down).');

const connLimitSchema = z.strictObject({
  max: z.int({ error: 'expected a whole number of requests' }).min(1, 'max must be at least 1')
    .describe('Requests (and WebSockets) of one key in progress at once; past it, 503 with Retry-After. Required.'),
  key: limitKey,
}).describe('Concurrent requests per key (nginx: limit_conn).');

export type RateLimitConfig = z.output<typeof rateLimitSchema>;
export type ConnLimitConfig = z.output<typeof connLimitSchema>;

/** The route keys this file adds (spread into the route schema). */
export const accessRouteFields = {
  access: accessSchema.optional(),
  rate_limit: rateLimitSchema.optional(),
  conn_limit: connLimitSchema.optional(),
};
