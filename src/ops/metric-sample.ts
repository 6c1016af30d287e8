// The shape in which stateful parts of edge (upstream pools, the cache) report numbers for
// /metrics without depending on the metrics library: a list of samples read at scrape time.

export interface MetricSample {
  /** Prometheus name, e.g. `edge_upstream_up`; counters end in `_total`. */
  name: string;
  help: string;
  type: 'gauge' | 'counter';
  labels: Record<string, string>;
  value: number;
  /**
   * With several workers, how their values of one series combine: sum (default; counters, bytes,
   * connections in flight) or min/max (a state each worker sees alike, e.g. an upstream being up).
   */
  aggregate?: 'sum' | 'min' | 'max';
}

/** Called on every scrape; cheap, synchronous, no I/O. */
export type MetricSource = () => MetricSample[];
