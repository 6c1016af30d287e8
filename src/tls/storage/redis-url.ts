// The `storage:` value for a fleet, parsed once: redis://[user:pass@]host:port/db,
// rediss://… (TLS; `ca=FILE` adds a root to trust), redis+unix:///path/redis.sock?db=N, and
// `prefix=NAME:` so several fleets can share one Redis. Parsing is pure; connectionOptions reads the CA file.

import { readFileSync } from 'node:fs';

export interface RedisSettings {
  host?: string;
  port?: number;
  /** A Unix socket instead of host and port. */
  path?: string;
  db: number;
  username?: string;
  password?: string;
  tls: boolean;
  /** PEM file of an extra root to trust for rediss://. */
  caFile?: string;
  /** Every key and channel edge uses starts with this. */
  prefix: string;
  /** The URL with any password masked, for logs, the banner and the admin endpoint. */
  display: string;
}

export class RedisUrlError extends Error {
  readonly code = 'EREDISURL';
}

const SCHEMES = ['redis:', 'rediss:', 'redis+unix:'];
const QUERY_KEYS: Record<string, string[]> = { 'redis:': ['prefix', 'db'], 'rediss:': ['prefix', 'db', 'ca'], 'redis+unix:': ['prefix', 'db'] };

/** True when a `storage:` value names Redis rather than a folder. */
export function isRedisUrl(storage: string): boolean {
  return /^(redis|rediss|redis\+unix):\/\//i.test(storage);
}

export function parseRedisUrl(text: string): RedisSettings {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new RedisUrlError(`"${text}" is not a URL: expected redis://[user:password@]host:port/db`);
  }
  const scheme = url.protocol.toLowerCase();
  if (!SCHEMES.includes(scheme)) throw new RedisUrlError(`storage URL scheme must be redis://, rediss:// or redis+unix://, got ${url.protocol}//`);
  for (const key of url.searchParams.keys()) {
    if (!QUERY_KEYS[scheme]!.includes(key)) throw new RedisUrlError(`unknown storage URL option "${key}" (known for ${scheme}//: ${QUERY_KEYS[scheme]!.join(', ')})`);
  }
  const username = url.username ? decodeURIComponent(url.username) : undefined;
  const password = url.password ? decodeURIComponent(url.password) : undefined;
  const prefix = url.searchParams.get('prefix') ?? 'edge:';
  if (prefix === '' || /[\s*?[\]]/.test(prefix)) throw new RedisUrlError(`storage URL prefix "${prefix}" must be non-empty, without spaces or glob characters`);
  const masked = new URL(text);
  if (masked.password) masked.password = '***';
  const base = { username, password, prefix, display: masked.toString(), tls: scheme === 'rediss:' };
  if (scheme === 'redis+unix:') {
    if (url.hostname !== '' || !url.pathname.startsWith('/') || url.pathname === '/') {
      throw new RedisUrlError('expected redis+unix:///absolute/path/redis.sock (three slashes: no host)');
    }
    return { ...base, path: decodeURIComponent(url.pathname), db: database(url.searchParams.get('db') ?? '0') };
  }
  if (url.hostname === '') throw new RedisUrlError(`storage URL ${base.display} has no host`);
  if (url.searchParams.has('db')) throw new RedisUrlError('the database goes in the path: redis://host:port/DB');
  const path = url.pathname.replace(/^\//, '');
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  return {
    ...base,
    host,
    port: url.port === '' ? 6379 : Number(url.port),
    db: database(path === '' ? '0' : path),
    ...(url.searchParams.has('ca') ? { caFile: url.searchParams.get('ca')! } : {}),
  };
}

function database(text: string): number {
  if (!/^\d{1,5}$/.test(text)) throw new RedisUrlError(`the Redis database is a number (redis://host:port/0), got "${text}"`);
  return Number(text);
}

/** Where and how to connect, as ioredis takes it: shared by the certificate storage and the fleet's rate limits. */
export function connectionOptions(settings: RedisSettings): { path?: string; host?: string; port?: number; db: number; username?: string; password?: string; tls?: { ca?: string } } {
  return {
    ...(settings.path ? { path: settings.path } : { host: settings.host, port: settings.port }),
    db: settings.db,
    username: settings.username,
    password: settings.password,
    ...(settings.tls ? { tls: settings.caFile ? { ca: readFileSync(settings.caFile, 'utf8') } : {} } : {}),
  };
}
