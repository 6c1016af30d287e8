// The static-files and compression part of a route: `static:` (an action: files under a root,
// with try_files like nginx's) and `compress:` (an option over whatever the route answers).

import * as z from 'zod';
import { PROXY_FALLBACK } from './runtime.ts';

export const ENCODINGS = ['zstd', 'br', 'gzip'] as const;
export type Encoding = (typeof ENCODINGS)[number];

/** try_files's last entry may hand the request to the route's proxy. */
const TRY_HINT = 'try_files entries are $uri, $uri/, $uri.html-like forms, a path starting with "/" (may contain $uri), and last "=CODE" or "@proxy"';

const tryEntry = z.string().superRefine((entry, ctx) => {
  if (entry.startsWith('$uri') || entry.startsWith('/') || entry === PROXY_FALLBACK) return;
  if (/^=\d{3}$/.test(entry)) {
    const code = Number(entry.slice(1));
    if (code < 400 || code > 599) ctx.addIssue({ code: 'custom', message: `try_files "=${code}": the status must be 400-599` });
    return;
  }
  ctx.addIssue({ code: 'custom', message: `${TRY_HINT}, got "${entry}"` });
});

const stringList = (what: string) => z.union([z.string(), z.array(z.string())], { error: `expected ${what} or a list of them` })
  .transform((v) => (Array.isArray(v) ? v : [v]));

export const staticSchema = z.strictObject({
  root: z.string({ error: 'expected the folder to serve files from' }).min(1, 'root must name a folder')
    .describe('Folder the files are served from (relative to the working directory). For a "/prefix/" route the prefix is taken off, as nginx\'s alias does: match /static/ with root /srv/app/static serves /static/app.css from /srv/app/static/app.css; =exact and ~regex routes use the whole path. Required.'),
  index: stringList('a file name').default(['index.html'])
    .describe('File names tried, in order, when a directory is asked for (with a trailing "/"). [] for none. Default [index.html].'),
  try_files: z.array(tryEntry, { error: 'expected a list, e.g. [$uri, $uri/, /index.html]' }).min(1, 'list at least one entry')
    .superRefine((list, ctx) => {
      list.forEach((entry, i) => {
        const terminal = entry === PROXY_FALLBACK || entry.startsWith('=');
        if (terminal && i !== list.length - 1) {
          ctx.addIssue({ code: 'custom', path: [i], message: `"${entry}" ends the search, so it must be the last entry of try_files` });
        }
      });
    })
    .default(['$uri', '$uri/'])
    .describe('What to look for, in order, like nginx: $uri (the file), $uri/ (the folder: a redirect to add the "/", then its index file), $uri.html and the like, "/path" (a file under root, e.g. /index.html for a single-page app; $uri may appear in it); an entry ending in "/" is a folder. The last entry may be "=404" (a status) or "@proxy" (the request goes to this route\'s proxy: files first, then the app). Nothing found: 404. Default [$uri, $uri/].'),
  hide: stringList('a name pattern').default(['.*'])
    .describe('Names never served, as patterns over each path segment (* and ? wildcards): a match anywhere in the path gives 404. Default [".*"] (dotfiles and dot-folders such as .git, .env, and also .well-known: set hide: [] on a route for /.well-known/ to serve it).'),
  headers: z.record(z.string(), z.string()).default({})
    .describe('Extra headers on file responses (200, 206, 304), e.g. Cache-Control.'),
  precompressed: z.boolean().default(true)
    .describe('Serve FILE.zst, FILE.br or FILE.gz next to FILE instead, when the client accepts that encoding (Vary: Accept-Encoding; each has its own ETag). Default true.'),
  follow_symlinks: z.boolean().default(false)
    .describe('Serve symlinks whose target is outside root. Links inside root are always followed. Default false: 403.'),
}).describe('Serve files: GET and HEAD with Last-Modified, strong ETags, conditional requests and single byte ranges; other methods get 405 (or go to the proxy with @proxy).');

export const compressSchema = z.union([z.boolean(), z.array(z.string())], {
  error: `compress is true, false, or a list of encodings from ${ENCODINGS.join(', ')}`,
})
  .superRefine((value, ctx) => {
    if (!Array.isArray(value)) return;
    value.forEach((coding, i) => {
      if (!(ENCODINGS as readonly string[]).includes(coding)) {
        ctx.addIssue({ code: 'custom', path: [i], message: `unknown encoding "${coding}": edge compresses with ${ENCODINGS.join(', ')}` });
      } else if (value.indexOf(coding) !== i) {
        ctx.addIssue({ code: 'custom', path: [i], message: `${coding} is listed twice` });
      }
    });
  })
  .transform((value): Encoding[] => (value === true ? [...ENCODINGS] : value === false ? [] : value as Encoding[]))
  .describe('Compress responses (proxied and static) for clients that accept it: true for [zstd, br, gzip], or the encodings in order of preference. Only compressible types (text, JSON, JavaScript, XML, SVG, ...) of at least 1 KiB; never responses already encoded, ranged, marked no-transform, or to HEAD; event streams are flushed per write. Levels: zstd 3, br 4, gzip 5. Default off.');

export type StaticConfig = z.output<typeof staticSchema>;

/**
 * A static route may carry a proxy only as its try_files fallback, and a fallback needs one.
 * Returns the actions the route counts for the one-action rule, or undefined once it has said why
 * the pair is wrong.
 */
export function checkStaticRoute<A extends string>(route: { static?: StaticConfig; proxy?: unknown }, actions: A[], ctx: z.RefinementCtx): A[] | undefined {
  if (route.static === undefined) return actions;
  // "@proxy" anywhere says the proxy is meant as the fallback (try_files reports one not last)
  const fallback = route.static.try_files.includes(PROXY_FALLBACK);
  if (fallback && route.proxy === undefined) {
    ctx.addIssue({
      code: 'custom',
      path: ['static', 'try_files', route.static.try_files.indexOf(PROXY_FALLBACK)],
      message: '"@proxy" falls back to this route\'s proxy, and it has none: add proxy: { to: ... } next to static',
    });
  }
  if (route.proxy !== undefined && !fallback && actions.length === 2) {
    ctx.addIssue({
      code: 'custom',
      message: 'a route has one action, this one has proxy and static: end static.try_files with "@proxy" to serve files first and then the app, or split it into two routes',
    });
    return undefined;
  }
  return fallback ? actions.filter((a) => a !== 'proxy') : actions;
}
