// The operations part of the config: how many worker processes serve requests.

import { availableParallelism } from 'node:os';
import * as z from 'zod';

const WORKERS_HINT = 'expected auto or a number of processes from 1 to 64';

export const workersSchema = z.union([z.literal('auto'), z.int(WORKERS_HINT).min(1, WORKERS_HINT).max(64, WORKERS_HINT)], {
  error: WORKERS_HINT,
}).default(1).describe('Processes that serve requests: a number, or auto (one per CPU core). With more than 1, a supervisor process manages certificates and the admin endpoint and replaces a worker that dies. Default 1: one process.');

export type Workers = z.output<typeof workersSchema>;

export function workerCount(workers: Workers): number {
  return workers === 'auto' ? availableParallelism() : workers;
}

/** `--workers` as given on the command line: "auto" or a count. */
export function parseWorkersFlag(text: string): Workers | undefined {
  if (text === 'auto') return 'auto';
  const n = /^\d+$/.test(text) ? Number(text) : NaN;
  return Number.isInteger(n) && n >= 1 && n <= 64 ? n : undefined;
}
