// /metrics in Prometheus text: this process's request counters and latency histogram (kept by hand),
// plus the samples the stateful parts report (MetricSource) and prom-client's process metrics. A
// process hands out its numbers as plain JSON families, so the supervisor can merge its workers'
// with its own and print one page. prom-client is loaded at the first scrape, not at start.

import type { Registry } from 'prom-client';
import type { MetricSample, MetricSource } from './metric-sample.ts';

export type Aggregator = 'sum' | 'max' | 'min' | 'first' | 'average';

/** One metric with all its values, as prom-client's getMetricsAsJSON gives it: safe to send over IPC. */
export interface MetricFamily {
  name: string;
  help: string;
  type: string;
  /** How the same series from several workers combine. */
  aggregator: Aggregator;
  values: { value: number; labels: Record<string, string | number>; metricName?: string }[];
}

export const CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/** By status / 100; anything outside 1xx-5xx counts as 'other'. */
const STATUS_CLASS = ['other', '1xx', '2xx', '3xx', '4xx', '5xx'];
const BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
const REQUESTS = { name: 'edge_requests_total', help: 'Requests answered, by site (its first host), route (its match pattern) and status class; 499 counts as 4xx.' };
const DURATION = { name: 'edge_request_duration_seconds', help: 'Time from the request arriving to the response finishing (WebSockets: to the connection closing).' };
const BYTES = { name: 'edge_response_bytes_total', help: 'Response body bytes sent to clients.' };

/** One site and route's numbers, kept as plain fields: recording a request allocates nothing. */
class Series {
  readonly byClass = new Array<number>(STATUS_CLASS.length).fill(0);
  /** Requests per latency bucket (not cumulative; the last slot is above the largest bound). */
  readonly buckets = new Array<number>(BUCKETS.length + 1).fill(0);
  count = 0;
  seconds = 0;
  bytes = 0;
}

/**
 * The request metrics of one process. Every request passes through `record`, so it is a look-up
 * in two maps and a few additions; prom-client's label hashing would cost the hot path more than
 * the rest of a cache hit's bookkeeping. The families are built only when /metrics is scraped,
 * in prom-client's JSON shape, so its aggregator merges them with the process metrics it keeps.
 */
export class RequestMetrics {
  /** prom-client's process metrics, started at the first scrape: a process never scraped never loads it. */
  private registry: Promise<Registry> | undefined;
  private readonly series = new Map<string, Map<string, Series>>();

  /** One request done; `seconds` from arrival to end. */
  record(site: string, route: string, status: number, bytes: number, seconds: number): void {
    let routes = this.series.get(site);
    if (routes === undefined) this.series.set(site, routes = new Map());
    let series = routes.get(route);
    if (series === undefined) routes.set(route, series = new Series());
    const cls = Math.floor(status / 100);
    series.byClass[cls >= 1 && cls <= 5 ? cls : 0]!++;
    let b = 0;
    while (b < BUCKETS.length && seconds > BUCKETS[b]!) b++;
    series.buckets[b]!++;
    series.count++;
    series.seconds += seconds;
    series.bytes += bytes;
  }

  /** This process's families: its own metrics and what `sources` report right now. */
  async families(sources: readonly MetricSource[]): Promise<MetricFamily[]> {
    this.registry ??= import('prom-client').then(({ Registry, collectDefaultMetrics }) => {
      const registry = new Registry();
      collectDefaultMetrics({ register: registry });
      return registry;
    });
    const own = (await (await this.registry).getMetricsAsJSON()) as unknown as MetricFamily[];
    return [...this.requestFamilies(), ...own, ...sampleFamilies(sources.flatMap((source) => source()))];
  }

  private requestFamilies(): MetricFamily[] {
    const requests: MetricFamily = { ...REQUESTS, type: 'counter', aggregator: 'sum', values: [] };
    const duration: MetricFamily = { ...DURATION, type: 'histogram', aggregator: 'sum', values: [] };
    const bytes: MetricFamily = { ...BYTES, type: 'counter', aggregator: 'sum', values: [] };
    for (const [site, routes] of this.series) {
      for (const [route, s] of routes) {
        s.byClass.forEach((n, i) => {
          if (n > 0) requests.values.push({ value: n, labels: { site, route, status: STATUS_CLASS[i]! } });
        });
        let cumulative = 0;
        BUCKETS.forEach((le, i) => {
          cumulative += s.buckets[i]!;
          duration.values.push({ value: cumulative, labels: { le, site, route }, metricName: `${DURATION.name}_bucket` });
        });
        duration.values.push(
          { value: s.count, labels: { le: '+Inf', site, route }, metricName: `${DURATION.name}_bucket` },
          { value: s.seconds, labels: { site, route }, metricName: `${DURATION.name}_sum` },
          { value: s.count, labels: { site, route }, metricName: `${DURATION.name}_count` },
        );
        if (s.bytes > 0) bytes.values.push({ value: s.bytes, labels: { site, route } });
      }
    }
    return [requests, duration, bytes];
  }
}

/** Samples grouped into families; a gauge may say how workers' values combine (default: sum). */
export function sampleFamilies(samples: readonly MetricSample[]): MetricFamily[] {
  const byName = new Map<string, MetricFamily>();
  for (const s of samples) {
    let family = byName.get(s.name);
    if (!family) {
      family = { name: s.name, help: s.help, type: s.type, aggregator: s.aggregate ?? 'sum', values: [] };
      byName.set(s.name, family);
    }
    family.values.push({ value: s.value, labels: s.labels });
  }
  return [...byName.values()];
}

/** Prometheus text for the families of one or more processes, each series combined by its aggregator. */
export async function metricsText(processes: readonly MetricFamily[][]): Promise<string> {
  const { AggregatorRegistry } = await import('prom-client');
  return AggregatorRegistry.aggregate(processes as never).metrics();
}
