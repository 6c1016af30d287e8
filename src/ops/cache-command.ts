// `edge cache [stats]` and `edge cache purge URL [--prefix]`: the running instance's cache, through
// its admin endpoint (the cache lives in that process's memory, so there is no offline fallback).

import { adminRequest, describeAdmin, describeInstance, identify, type AdminAddress, type AdminTarget } from './admin-address.ts';

export class CacheCommandError extends Error {
  readonly code = 'ECACHE';
}

interface ZoneView {
  zone: string;
  entries: number;
  bytes: number;
  max_size: number;
  hits: number;
  misses: number;
  stale: number;
  bypass: number;
}

export async function cacheCommand(args: string[], prefix: boolean, target: AdminTarget, out: (text: string) => void): Promise<void> {
  const [action, url] = args;
  const { admin } = target;
  if (!admin) throw new CacheCommandError('admin is off in this config: edge cache talks to the running edge\'s admin endpoint (or name it with --admin ADDR)');
  if (action !== 'purge' && action !== 'stats' && action !== undefined) {
    throw new CacheCommandError(`unknown cache action "${action}": use edge cache [stats], or edge cache purge URL [--prefix]`);
  }
  if (action === 'purge' && !url) throw new CacheCommandError('usage: edge cache purge URL [--prefix]   (e.g. https://example.com/blog/)');
  const instance = await identify(admin);
  if (!instance) throw new CacheCommandError(`no running edge answers at ${describeAdmin(admin)}`);
  out(`from running ${describeInstance(instance, admin)}\n`);
  if (action === 'purge') {
    const answer = await ask(admin, 'POST', `/cache/purge?url=${encodeURIComponent(url)}${prefix ? '&prefix=1' : ''}`);
    const purged = perProcess<{ purged: number }>(answer).reduce((sum, a) => sum + a.purged, 0);
    out(`${url}${prefix ? ' (prefix)' : ''}: ${purged} ${purged === 1 ? 'entry' : 'entries'} removed\n`);
    return;
  }
  const zones = sumZones(perProcess<{ zones: ZoneView[] }>(await ask(admin, 'GET', '/cache')).flatMap((a) => a.zones));
  if (zones.length === 0) {
    out('no route of the running edge has a cache\n');
    return;
  }
  for (const z of zones) {
    const looked = z.hits + z.misses;
    const ratio = looked === 0 ? '-' : `${Math.round((100 * z.hits) / looked)}%`;
    out(`${z.zone}: ${z.entries} entries, ${mib(z.bytes)} of ${mib(z.max_size)}; ${z.hits} hits, ${z.misses} misses (hit ratio ${ratio}), ${z.stale} stale, ${z.bypass} bypassed\n`);
  }
}

/** With workers the supervisor answers with every worker's answer, each holding its own cache. */
function perProcess<T>(body: unknown): T[] {
  const workers = (body as { workers?: { body: T }[] }).workers;
  return workers ? workers.map((w) => w.body) : [body as T];
}

/** One line per zone: the workers' caches of a zone added up. */
function sumZones(zones: ZoneView[]): ZoneView[] {
  const byName = new Map<string, ZoneView>();
  for (const z of zones) {
    const sum = byName.get(z.zone);
    if (!sum) byName.set(z.zone, { ...z });
    else for (const k of ['entries', 'bytes', 'max_size', 'hits', 'misses', 'stale', 'bypass'] as const) sum[k] += z[k];
  }
  return [...byName.values()];
}

async function ask(admin: AdminAddress, method: 'GET' | 'POST', path: string): Promise<unknown> {
  let answer;
  try {
    answer = await adminRequest(admin, method, path, 10_000);
  } catch (err) {
    throw new CacheCommandError(`no running edge answers at ${describeAdmin(admin)}: ${(err as Error).message}`);
  }
  const body = answer.body as { error?: string };
  if (answer.status !== 200) throw new CacheCommandError(`${describeAdmin(admin)} answered ${answer.status}: ${body.error ?? ''}`);
  return body;
}

function mib(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}
