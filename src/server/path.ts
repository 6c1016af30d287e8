// Request-target parsing for routing: the path a route matches is the decoded, normalised one
// (like nginx), so "/%61dmin" or "/x/../admin" cannot slip past a route meant for "/admin".
// The upstream still receives the request target exactly as the client sent it.

export class BadPathError extends Error {
  readonly code = 'EBADPATH';
}

/** The path part of a request target: up to "?" (a "#" is never sent, but is cut just in case). */
export function pathOf(url: string): string {
  for (let i = 0; i < url.length; i++) {
    const c = url.charCodeAt(i);
    if (c === 63 /* ? */ || c === 35 /* # */) return url.slice(0, i);
  }
  return url;
}

/** Normalised path for matching; throws BadPathError for paths no server should accept. */
export function normalisePath(path: string): string {
  if (path.charCodeAt(0) !== 47 /* / */) throw new BadPathError('path must start with "/"');
  if (!needsWork(path)) return path;
  let decoded: string;
  try {
    decoded = decodeURIComponent(path);
  } catch {
    throw new BadPathError('malformed percent-encoding');
  }
  if (decoded.includes('\0')) throw new BadPathError('NUL in path');
  const out: string[] = [];
  const segments = decoded.split('/');
  for (let i = 1; i < segments.length; i++) {
    const seg = segments[i]!;
    const last = i === segments.length - 1;
    if (seg === '..') {
      if (out.length === 0) throw new BadPathError('path climbs above the root');
      out.pop();
      if (last) out.push('');
    } else if (seg === '.' || (seg === '' && !last)) {
      if (last) out.push('');
    } else {
      out.push(seg);
    }
  }
  return '/' + out.join('/');
}

function needsWork(path: string): boolean {
  for (let i = 0; i < path.length; i++) {
    const c = path.charCodeAt(i);
    if (c === 37 /* % */) return true;
    if (c === 47 /* / */) {
      const n = path.charCodeAt(i + 1);
      if (n === 47 || n === 46 /* . */) return true;
    }
  }
  return false;
}
