// Merging the metric families of several processes (the supervisor's and its workers') into one
// page: counters and bytes add up, a gauge marked min or max keeps one value, samples group by name.
// The request counters and latency histogram, kept by hand off prom-client, print as prom-client would.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { metricsText, RequestMetrics, sampleFamilies } from '../../src/ops/metrics.ts';
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

  it('counts requests by status class, buckets their latency cumulatively and adds up bytes', async () => {
    const m = new RequestMetrics();
    m.record('a.example', '/', 200, 10, 0.003);
    m.record('a.example', '/', 204, 0, 0.02);
    m.record('a.example', '/', 499, 5, 45);
    m.record('a.example', '/api/', 101, 0, 0.005);
    m.record('none', 'none', 0, 0, 0.001);
    const families = await m.families([]);
    const text = await metricsText([families, families]);
    const line = (pattern: string) => assert.match(text, new RegExp(`^${pattern.replace(/[{}+.]/g, '\\$&')}$`, 'm'));
    line('edge_requests_total{site="a.example",route="/",status="2xx"} 4');
    line('edge_requests_total{site="a.example",route="/",status="4xx"} 2');
    line('edge_requests_total{site="a.example",route="/api/",status="1xx"} 2');
    line('edge_requests_total{site="none",route="none",status="other"} 2');
    assert.doesNotMatch(text, /route="\/",status="(1xx|3xx|5xx)"/);
    line('edge_request_duration_seconds_bucket{le="0.005",site="a.example",route="/"} 2');
    line('edge_request_duration_seconds_bucket{le="0.025",site="a.example",route="/"} 4');
    line('edge_request_duration_seconds_bucket{le="30",site="a.example",route="/"} 4');
    line('edge_request_duration_seconds_bucket{le="+Inf",site="a.example",route="/"} 6');
    line('edge_request_duration_seconds_count{site="a.example",route="/"} 6');
    // 0.005 is inside its bucket: the bounds are inclusive, as Prometheus's le says
    line('edge_request_duration_seconds_bucket{le="0.005",site="a.example",route="/api/"} 2');
    line('edge_request_duration_seconds_sum{site="a.example",route="/"} 90.046');
    line('edge_response_bytes_total{site="a.example",route="/"} 30');
    assert.doesNotMatch(text, /edge_response_bytes_total\{site="a.example",route="\/api\/"/);
    assert.match(text, /^# TYPE edge_request_duration_seconds histogram$/m);
  });
});
