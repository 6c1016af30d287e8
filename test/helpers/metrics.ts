// Reading edge's /metrics in tests through a real Prometheus text-format parser.

import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { fetchRaw } from './http.ts';

export interface Family {
  name: string;
  type: string;
  metrics: { labels?: Record<string, string>; value?: string; buckets?: Record<string, string> }[];
}
const parse = createRequire(import.meta.url)('parse-prometheus-text-format') as (text: string) => Family[];

/** The page parsed (the parser throws on a malformed line), and its text. */
export async function scrape(adminPort: number): Promise<Family[] & { text: string }> {
  const r = await fetchRaw(adminPort, '/metrics', { headers: { host: `localhost:${adminPort}` } });
  assert.equal(r.status, 200);
  assert.match(String(r.headers['content-type']), /^text\/plain; version=0\.0\.4/);
  return Object.assign(parse(r.text), { text: r.text });
}

/**
 * A labelled histogram's _count series. The parser folds every series of a histogram into one
 * (it only keeps the buckets of unlabelled ones), so this one reads the line it checked.
 */
export function histogramCount(page: { text: string }, name: string, labels: string): number {
  return histogramLine(page, `${name}_count{${labels}}`);
}

/** A labelled histogram's _sum series, read as histogramCount reads _count. */
export function histogramSum(page: { text: string }, name: string, labels: string): number {
  return histogramLine(page, `${name}_sum{${labels}}`);
}

function histogramLine(page: { text: string }, start: string): number {
  const line = page.text.split('\n').find((l) => l.startsWith(start));
  return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(' ') + 1));
}

/**
 * A labelled histogram's _bucket series in page order, as [le, cumulative count]: read from the
 * text for the same reason as histogramCount. `labels` are the series' other labels, as printed.
 */
export function histogramBuckets(page: { text: string }, name: string, labels: string): [string, number][] {
  const out: [string, number][] = [];
  for (const line of page.text.split('\n')) {
    if (!line.startsWith(`${name}_bucket{`) || !line.includes(labels)) continue;
    const le = /le="([^"]*)"/.exec(line)?.[1];
    if (le !== undefined) out.push([le, Number(line.slice(line.lastIndexOf(' ') + 1))]);
  }
  return out;
}

/** The value of the series of `name` whose labels include `labels`; 0 when there is none yet. */
export function value(families: Family[], name: string, labels: Record<string, string> = {}): number {
  const family = families.find((f) => f.name === name);
  const series = family?.metrics.find((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v));
  return series === undefined ? 0 : Number(series.value);
}
