// Certificates in /metrics: when each expires, and which are failing to renew and why. Read from
// the certificate manager's state at scrape time.

import type { ManagedState } from '../tls/manager.ts';
import type { MetricSample, MetricSource } from './metric-sample.ts';

/** Long enough to say what failed, short enough for a label. */
const ERROR_LABEL_MAX = 200;

export function certificateMetrics(states: () => readonly ManagedState[]): MetricSource {
  return () => {
    const samples: MetricSample[] = [];
    for (const s of states()) {
      if (s.cert) {
        samples.push({
          name: 'edge_certificate_not_after_seconds',
          help: 'When the certificate served for a name expires (Unix time).',
          type: 'gauge',
          labels: { name: s.name, source: s.source },
          value: Math.floor(s.cert.notAfter.getTime() / 1000),
          aggregate: 'max',
        });
      }
      samples.push({
        name: 'edge_certificate_renewal_failing',
        help: '1 while the last attempt to obtain or renew the certificate for a name failed (error says why), else 0.',
        type: 'gauge',
        labels: s.lastError ? { name: s.name, error: s.lastError.slice(0, ERROR_LABEL_MAX) } : { name: s.name, error: '' },
        value: s.lastError ? 1 : 0,
        aggregate: 'max',
      });
    }
    return samples;
  };
}
