// The one interface every balancing policy implements: given the pool's upstreams in config order
// (each saying whether it may take this request) and the request, pick one. Policies are pure
// apart from their own counters and an injected random source, so tests can drive them alone.

import type { IncomingHttpHeaders } from 'node:http';

export interface Candidate {
  readonly name: string;
  /** Share of traffic, > 0; slow start lowers it for an upstream just back. */
  readonly weight: number;
  /** Requests to it under way now. */
  readonly inFlight: number;
  /** Up, under max_conns, and not yet tried by this request. */
  readonly available: boolean;
}

export interface PickRequest {
  /** The client's address (ip_hash). */
  readonly client: string;
  readonly headers: IncomingHttpHeaders;
}

export interface Policy {
  /** An available candidate, or undefined when none is. */
  select<C extends Candidate>(pool: readonly C[], req: PickRequest): C | undefined;
}

/** A number in [0, 1), like Math.random; tests pass a seeded one. */
export type Random = () => number;

/** A weighted random pick among the available candidates. */
export function weightedRandom<C extends Candidate>(pool: readonly C[], random: Random, skip?: C): C | undefined {
  let total = 0;
  for (const c of pool) if (c.available && c !== skip) total += c.weight;
  if (total === 0) return undefined;
  let point = random() * total;
  let last: C | undefined;
  for (const c of pool) {
    if (!c.available || c === skip) continue;
    point -= c.weight;
    last = c;
    if (point < 0) return c;
  }
  return last;
}

/** Load per unit of weight: what least_conn and p2c compare. */
export function load(c: Candidate): number {
  return c.inFlight / c.weight;
}
