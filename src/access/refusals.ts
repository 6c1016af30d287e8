// What the access gates refused, per site, route and reason, for /metrics. Kept for the life of
// the process (a reload does not reset the counters); every generation reports the same numbers.

import type { MetricSample } from '../ops/metric-sample.ts';

export type Reason = 'denied' | 'unauthorized' | 'busy' | 'rate_limit' | 'conn_limit';

const counts = new Map<string, { site: string; route: string; reason: Reason; value: number }>();

export function countRefusal(site: string, route: string, reason: Reason): void {
  const key = `${site}\0${route}\0${reason}`;
  const entry = counts.get(key);
  if (entry) entry.value++;
  else counts.set(key, { site, route, reason, value: 1 });
}

export function refusalSamples(): MetricSample[] {
  return [...counts.values()].map(({ site, route, reason, value }) => ({
    name: 'edge_access_refused_total',
    help: 'Requests refused by a route\'s access, rate_limit or conn_limit, by reason.',
    type: 'counter',
    labels: { site, route, reason },
    value,
  }));
}
