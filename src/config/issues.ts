// Turns schema validation issues into one-line problems a person can act on.

import type * as z from 'zod';
import { formatPath, type Problem } from './errors.ts';

/**
 * Keys edge no longer has, and what to do instead. An error rather than a warning: each changed
 * what edge does (retry_body_limit: 0 meant "never resend a body"), so ignoring one quietly would
 * change behaviour under a config that still reads as before.
 */
const REMOVED_KEYS: Record<string, string> = {
  retry_body_limit: 'is gone: with request buffering (the default) a body is resent on retry whatever its size, and with buffering: { request: false } bodies up to 64 KiB are held for a retry; delete the line',
};

export type Locate = (path: readonly PropertyKey[], opts?: { key?: string }) => string;

export function issuesToProblems(issues: readonly z.core.$ZodIssue[], schema: z.ZodType, locate: Locate): Problem[] {
  return issues.map((issue) => {
    const path = issue.path;
    const at = formatPath(path);
    if (issue.code === 'unrecognized_keys') {
      const key = String(issue.keys[0]);
      const removed = REMOVED_KEYS[key];
      if (removed !== undefined) return { where: locate(path, { key }), path: at, message: `"${key}" ${removed}`, severity: 'error' };
      const known = knownKeysAt(schema, path);
      const near = nearest(key, known);
      const hint = near !== undefined ? `did you mean "${near}"?` : `known keys: ${known.join(', ')}`;
      const extra = issue.keys.length > 1 ? ` (and ${issue.keys.slice(1).map((k) => `"${String(k)}"`).join(', ')})` : '';
      return { where: locate(path, { key }), path: at, message: `unknown key "${key}"${extra}, ${hint}`, severity: 'error' };
    }
    // a union (proxy.to) reports an absent value as invalid_union, not invalid_type
    if ((issue.code === 'invalid_type' || issue.code === 'invalid_union') && issue.input === undefined) {
      const parent = path.slice(0, -1);
      return {
        where: locate(parent),
        path: formatPath(parent),
        message: `missing required key "${String(path[path.length - 1])}"`,
        severity: 'error',
      };
    }
    if (issue.code === 'invalid_type') {
      // zod's own wording starts "Invalid input"; a message set in the schema says it better
      const expected = issue.message.startsWith('Invalid input') ? `expected ${issue.expected}` : issue.message;
      return { where: locate(path), path: at, message: `${expected}, got ${describe(issue.input)}`, severity: 'error' };
    }
    return { where: locate(path), path: at, message: issue.message, severity: 'error' };
  });
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') return `"${value}"`;
  return `${typeof value} ${String(value)}`;
}

interface Def {
  type: string;
  shape?: Record<string, z.ZodType>;
  innerType?: z.ZodType;
  in?: z.ZodType;
  element?: z.ZodType;
  options?: z.ZodType[];
}

function defOf(schema: z.ZodType): Def {
  return (schema as unknown as { _zod: { def: Def } })._zod.def;
}

/** The object shapes reachable at `path`, looking through defaults, pipes, arrays and unions. */
function shapesAt(schema: z.ZodType, path: readonly PropertyKey[]): Record<string, z.ZodType>[] {
  const def = defOf(schema);
  if (def.innerType) return shapesAt(def.innerType, path);
  if (def.type === 'pipe' && def.in) return shapesAt(def.in, path);
  if (def.type === 'union' && def.options) return def.options.flatMap((o) => shapesAt(o, path));
  if (path.length === 0) return def.type === 'object' && def.shape ? [def.shape] : [];
  const [head, ...rest] = path;
  if (def.type === 'array' && def.element && typeof head === 'number') return shapesAt(def.element, rest);
  if (def.type === 'object' && def.shape && typeof head === 'string' && def.shape[head]) return shapesAt(def.shape[head], rest);
  return [];
}

export function knownKeysAt(schema: z.ZodType, path: readonly PropertyKey[]): string[] {
  return [...new Set(shapesAt(schema, path).flatMap((s) => Object.keys(s)))];
}

/** The known key closest to a mistyped one, if it is close enough to be a likely typo. */
export function nearest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const d = editDistance(word.toLowerCase(), c.toLowerCase());
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  // a third of the word: two edits would turn a short key like "tls" into an unrelated "to"
  return bestDistance <= Math.max(1, Math.floor(word.length / 3)) ? best : undefined;
}

/** Optimal string alignment distance: insertions, deletions, substitutions and swaps of neighbours. */
function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i]);
  for (let j = 0; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  }
  return d[a.length]![b.length]!;
}
