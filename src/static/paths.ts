// From a request path to a file path under a static root, as pure functions. The request path
// arrives decoded once and normalised (no "." or ".." segments, no NUL: src/server/path.ts), so
// what is left to refuse here is what a file system would read differently: backslashes, and
// names the route hides. The joined path is checked to be under the root all the same.

import { join } from 'node:path';
import { BadPathError, normalisePath, pathOf } from '../server/path.ts';

/** Why a request path is refused: 400 (malformed) or 404 (hidden: as if it did not exist). */
export class StaticPathError extends Error {
  readonly code = 'ESTATICPATH';
  readonly status: 400 | 404;

  constructor(status: 400 | 404, message: string) {
    super(message);
    this.status = status;
  }
}

/**
 * The path under the route for a request target: decoded, normalised, and for a "/prefix" route
 * without the prefix (nginx's alias), always starting with "/". Throws StaticPathError.
 */
export function routePath(target: string, prefix: string | undefined): string {
  let path: string;
  try {
    path = normalisePath(pathOf(target));
  } catch (err) {
    if (err instanceof BadPathError) throw new StaticPathError(400, err.message);
    throw err;
  }
  // a backslash is a separator to Windows and to some tools that unpack or sync files
  if (path.includes('\\')) throw new StaticPathError(400, 'backslash in path');
  if (prefix === undefined || prefix === '/' || !path.startsWith(prefix)) return path;
  const rest = path.slice(prefix.length);
  return rest.startsWith('/') ? rest : `/${rest}`;
}

/** The prefix a route's match takes off: "/static/" for "/static/", none for =exact and ~regex. */
export function routePrefix(match: string): string | undefined {
  return match.startsWith('=') || match.startsWith('~') ? undefined : match;
}

/** Name patterns (* and ? wildcards, over one path segment) → one expression, compiled once. */
export function compileHide(patterns: readonly string[]): RegExp | undefined {
  if (patterns.length === 0) return undefined;
  const alternatives = patterns.map((p) => p.replace(/[.+^${}()|[\]\\]/g, '\\$&').replaceAll('*', '[^/]*').replaceAll('?', '[^/]'));
  return new RegExp(`^(?:${alternatives.join('|')})$`);
}

/** Whether any segment of `path` ("/a/b/c") is a hidden name. */
export function isHidden(path: string, hide: RegExp | undefined): boolean {
  if (hide === undefined) return false;
  let start = 1;
  while (start <= path.length) {
    let end = path.indexOf('/', start);
    if (end < 0) end = path.length;
    if (end > start && hide.test(path.slice(start, end))) return true;
    start = end + 1;
  }
  return false;
}

/** `root` joined with a route path; throws when the result would not be under root. */
export function underRoot(root: string, path: string): string {
  const full = join(root, path);
  if (full !== root && !full.startsWith(root.endsWith('/') ? root : `${root}/`)) {
    throw new StaticPathError(400, 'path leaves the root');
  }
  return full;
}

/** Whether a real (symlink-free) path is the real root or inside it. */
export function insideReal(real: string, realRoot: string): boolean {
  return real === realRoot || real.startsWith(realRoot.endsWith('/') ? realRoot : `${realRoot}/`);
}

/** A try_files entry for a route path: "$uri" replaced ("$uri/" of "/a/" is "/a/"). */
export function expandTry(entry: string, uri: string): string {
  if (entry === '$uri') return uri;
  if (entry === '$uri/') return uri.endsWith('/') ? uri : `${uri}/`;
  return entry.replaceAll('$uri', uri);
}
