// The few config values the request path needs at run time (defaults, reserved words), kept out of
// the schema files so that workers and the request path never load the schema library (zod).

import type { UpstreamTls } from './address.ts';
import type { PoolConfig, UpstreamSpec } from './upstream-schema.ts';

/** The try_files entry that hands the request to the route's proxy. */
export const PROXY_FALLBACK = '@proxy';

/** The pool with every default filled in. */
export function resolvePool(p: Pick<PoolConfig, 'to'> & Partial<PoolConfig>): PoolConfig {
  return {
    to: withUpstreamTls(p.to, p.tls),
    balance: p.balance ?? { policy: 'round_robin' },
    max_fails: p.max_fails ?? 1,
    fail_timeout: p.fail_timeout ?? 10_000,
    fail_status: p.fail_status ?? [],
    health: p.health,
    slow_start: p.slow_start ?? 0,
    retries: p.retries ?? 2,
    try_duration: p.try_duration ?? 5_000,
    tls: p.tls,
  };
}

/** The pool's tls: settings given to each of its https:// upstreams. */
function withUpstreamTls(to: UpstreamSpec[], tls: UpstreamTls | undefined): UpstreamSpec[] {
  if (tls === undefined) return to;
  return to.map((spec) => (spec.address.kind === 'tcp' && spec.address.tls ? { ...spec, address: { ...spec.address, tls } } : spec));
}
