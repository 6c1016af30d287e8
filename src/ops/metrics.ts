// /metrics in Prometheus text: this process's request counters and latency histogram (prom-client),
// plus the samples the stateful parts report (MetricSource). A process hands out its numbers as
// plain JSON families, so the supervisor can merge its workers' with its own and print one page.

import { AggregatorRegistry, collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';
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

const STATUS_CLASS = ['1xx', '1xx', '2xx', '3xx', '4xx', '5xx'];

export class RequestMetrics {
  private readonly registry = new Registry();
  private readonly requests: Counter<'site' | 'route' | 'status'>;
  private readonly duration: Histogram<'site' | 'route'>;
  private readonly bytes: Counter<'site' | 'route'>;

  constructor() {
    const registers = [this.registry];
    this.requests = new Counter({ name: 'edge_requests_total', help: 'Requests answered, by site (its first host), route (its match pattern) and status class; 499 counts as 4xx.', labelNames: ['site', 'route', 'status'], registers });
    this.duration = new Histogram({
      name: 'edge_request_duration_seconds',
      help: 'Time from the request arriving to the response finishing (WebSockets: to the connection closing).',
      labelNames: ['site', 'route'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
    this.bytes = new Counter({ name: 'edge_response_bytes_total', help: 'Response body bytes sent to clients.', labelNames: ['site', 'route'], registers });
    collectDefaultMetrics({ register: this.registry });
  }

  /** One request done; `seconds` from arrival to end. */
  record(site: string, route: string, status: number, bytes: number, seconds: number): void {
    const labels = { site, route };
    this.requests.inc({ site, route, status: STATUS_CLASS[Math.floor(status / 100)] ?? 'other' });
    this.duration.observe(labels, seconds);
    if (bytes > 0) this.bytes.inc(labels, bytes);
  }

  /** This process's families: its own metrics and what `sources` report right now. */
  async families(sources: readonly MetricSource[]): Promise<MetricFamily[]> {
    const own = (await this.registry.getMetricsAsJSON()) as unknown as MetricFamily[];
    return [...own, ...sampleFamilies(sources.flatMap((source) => source()))];
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
  return AggregatorRegistry.aggregate(processes as never).metrics();
}
