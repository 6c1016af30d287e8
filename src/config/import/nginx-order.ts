// nginx picks a location in its own order; edge takes the first route that matches. This puts
// the routes in an order where the first match is nginx's choice: server-level redirects (they
// run before any location), then exact (=) locations, then ^~ prefixes longest first, then
// regexes in file order, then plain prefixes longest first. A ^~ prefix only beats the regexes
// when it is the longest prefix that matches, so where a longer plain prefix lies under it, its
// route becomes a regex that leaves that longer prefix to the regexes and the plain routes.

import type { Notes } from './nginx-notes.ts';
import type { Match } from './nginx-routes.ts';
import { escape } from './nginx-routes.ts';
import { NOTES, type Obj } from './yaml-out.ts';

export interface Placed {
  match: Match;
  route: Obj;
  /** Where the location was written, for the note when the order is approximate. */
  where: string;
}

const RANK = { first: 0, exact: 1, stop: 2, regex: 3, prefix: 4 } as const;

export function orderRoutes(placed: Placed[], notes: Notes): Obj[] {
  const indexed = placed.map((p, i) => ({ ...p, i }));
  const hasRegex = placed.some((p) => p.match.kind === 'regex');
  indexed.sort((a, b) => {
    const rank = RANK[a.match.kind] - RANK[b.match.kind];
    if (rank !== 0) return rank;
    const byLength = a.match.kind === 'stop' || a.match.kind === 'prefix';
    return byLength && b.match.path.length !== a.match.path.length ? b.match.path.length - a.match.path.length : a.i - b.i;
  });
  for (const p of indexed) {
    if (p.match.kind !== 'stop' || !hasRegex) continue;
    const longer = placed.filter((q) => q.match.kind === 'prefix' && q.match.path.length > p.match.path.length && q.match.path.startsWith(p.match.path));
    if (longer.length === 0) continue;
    if (p.route.static !== undefined) {
      const line = notes.add(`${p.where}: location ^~ ${p.match.path}: the longer prefix ${longer[0]!.match.path} under it goes to regexes first in nginx; edge takes this route first for it`);
      p.route[NOTES] = [...(p.route[NOTES] ?? []), line];
      continue;
    }
    p.route.match = `~^${escape(p.match.path)}(?!${longer.map((q) => escape(q.match.path.slice(p.match.path.length))).join('|')})`;
  }
  return indexed.map((p) => p.route);
}
