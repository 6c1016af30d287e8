// A route's strip_prefix and rewrite in config: what the action (and the upstream) sees instead
// of the client's path. Checked here so a rule that cannot work is an error at its place: a
// regex that does not compile, a $N past the regex's groups, a prefix the route can never see.

import * as z from 'zod';

const stripPrefix = z.string({ error: 'expected a path prefix, e.g. /api' })
  .superRefine((text, ctx) => {
    const problem = !text.startsWith('/') ? 'strip_prefix starts with "/", e.g. /api'
      : text === '/' ? 'strip_prefix / would strip nothing'
      : /[?#]/.test(text) ? 'strip_prefix is a path, without "?" or "#"'
      : text.replace(/\/$/, '').split('/').slice(1).some((s) => s === '' || s === '.' || s === '..') ? 'strip_prefix is a clean path: no "//", "." or ".." segments'
      : undefined;
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  })
  // "/api/" and "/api" strip the same: a whole segment, the "/" after it kept
  .transform((text) => text.replace(/\/$/, ''))
  .describe('Path prefix taken off the (normalised) path before the action: with /api, the upstream or static root sees /v1/x for /api/v1/x and / for /api. Only at a segment boundary (/apiary is left alone); the query string is kept; the access log shows the original.');

const rewriteSchema = z.strictObject({
  from: z.string({ error: 'expected a regex (JavaScript syntax), e.g. "^/old/(.*)$"' }).superRefine((text, ctx) => {
    try {
      new RegExp(text);
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: `bad regex: ${(err as Error).message}` });
    }
  }).describe('Regex (JavaScript syntax) tried on the normalised path, after strip_prefix. No match: the path is left as it is.'),
  to: z.string({ error: 'expected the new path, e.g. "/new/$1"' })
    .refine((text) => text.startsWith('/'), 'rewrite.to is a path starting with "/"')
    .refine((text) => !/[?#]/.test(text), 'rewrite.to is a path: the query string is kept as the client sent it, so no "?" or "#"')
    .describe('The new path; $1..$9 are the regex\'s groups. A result with a ".." segment is answered 400.'),
}).superRefine((rule, ctx) => {
  let groups: number;
  try {
    groups = new RegExp(`${rule.from}|`).exec('')!.length - 1;
  } catch {
    return;
  }
  const used = Math.max(0, ...[...rule.to.matchAll(/\$([1-9])/g)].map((m) => Number(m[1])));
  if (used > groups) {
    ctx.addIssue({ code: 'custom', path: ['to'], message: `rewrite.to uses $${used}, and from has ${groups === 0 ? 'no groups' : `only ${groups} group(s)`}` });
  }
}).describe('Internal rewrite of the path before the action (not a redirect: the client never sees it), applied to the normalised path after strip_prefix; the query string is kept; the access log shows the original. On a static route the result is the path looked up (the route\'s prefix taken off if it still starts with it, as without a rewrite).');

/** The keys a route takes for its rewrite rules (spread into the route schema). */
export const rewriteFields = {
  strip_prefix: stripPrefix.optional(),
  rewrite: rewriteSchema.optional(),
};

/** A prefix route whose strip_prefix no path it matches can start with never strips anything. */
export function checkRouteRewrite(route: { match: string; strip_prefix?: string }, ctx: z.RefinementCtx): void {
  const strip = route.strip_prefix;
  const match = route.match;
  // a strip_prefix that is no path has its own error
  if (strip === undefined || !strip.startsWith('/') || match.startsWith('=') || match.startsWith('~')) return;
  const fits = match.startsWith(`${strip}/`) || match === strip || `${strip}/`.startsWith(match);
  if (!fits) ctx.addIssue({ code: 'custom', path: ['strip_prefix'], message: `strip_prefix ${strip} never applies to the paths match ${match} takes` });
}
