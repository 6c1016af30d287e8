// Merging the metric families of several processes (the supervisor's and its workers') into one
// page: counters and bytes add up, a gauge marked min or max keeps one value, samples group by name.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { metricsText, sampleFamilies } from '../../src/ops/metrics.ts';
import type { MetricSample } from '../../src/ops/metric-sample.ts';

const sample = (name: string, labels: Record<string, string>, value: number, extra: Partial<MetricSample> = {}): MetricSample =>
  ({ name, help: `${name} help`, type: 'gauge', labels, value, ...extra });

describe('metric families', () => {
  it('groups samples by name, keeping each series', () => {
    const families = sampleFamilies([
      sample('edge_upstream_up', { upstream: 'a' }, 1, { aggregate: 'min' }),
      sample('edge_upstream_in_flight', { upstream: 'a' }, 3),
      sample('edge_upstream_up', { upstream: 'b' }, 0, { aggregate: 'min' }),
    ]);
    assert.deepEqual(families.map((f) => [f.name, f.aggregator, f.values.length]), [['edge_upstream_up', 'min', 2], ['edge_upstream_in_flight', 'sum', 1]]);
  });

  it('adds up counters across processes and applies min/max to the gauges that ask for it', async () => {
    const worker = (up: number, inFlight: number, hits: number) => sampleFamilies([
      sample('edge_upstream_up', { upstream: 'a' }, up, { aggregate: 'min' }),
      sample('edge_upstream_in_flight', { upstream: 'a' }, inFlight),
      sample('edge_cache_hits_total', {}, hits, { type: 'counter' }),
    ]);
    const text = await metricsText([worker(1, 2, 10), worker(0, 5, 7)]);
    assert.match(text, /^# TYPE edge_cache_hits_total counter$/m);
    assert.match(text, /^edge_cache_hits_total 17$/m);
    assert.match(text, /^edge_upstream_in_flight\{upstream="a"\} 7$/m);
    assert.match(text, /^edge_upstream_up\{upstream="a"\} 0$/m);
  });

  it('escapes label values', async () => {
    const text = await metricsText([sampleFamilies([sample('edge_certificate_renewal_failing', { name: 'a.example', error: 'bad "quote"\nnext' }, 1)])]);
    assert.match(text, /error="bad \\"quote\\"\\nnext"/);
  });
});
