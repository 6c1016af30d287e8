// A route's strip_prefix and rewrite, as one pure function of the request target: applied to
// the normalised (decoded) path, strip_prefix first (at a segment boundary), then the rewrite
// regex with $1..$9; the query string is kept as sent. A target neither changes is returned as it
// came, byte for byte. A changed path is cleaned (empty and "." segments dropped) and re-encoded,
// so a "%" or "?" the client encoded stays encoded and nothing is decoded twice; a result with a
// ".." segment is refused (400), so no rule can reach above "/".

import { BadPathError, normalisePath } from './path.ts';

export interface RewriteConfig {
  /** Without a trailing "/" (the schema takes it off). */
  strip_prefix?: string | undefined;
  rewrite?: { from: string; to: string } | undefined;
}

/** The request is refused: its path cannot be rewritten into one under "/". */
export class RewriteRefusedError extends Error {
  readonly code = 'EREWRITE_REFUSED';
  constructor(message: string) {
    super(message);
    this.name = 'RewriteRefusedError';
  }
}

/** `to` split once into literal text and capture group numbers. */
type Part = string | number;

export function compileTemplate(to: string): Part[] {
  const parts: Part[] = [];
  let text = '';
  for (let i = 0; i < to.length; i++) {
    const c = to[i]!;
    const n = to.charCodeAt(i + 1);
    if (c === '$' && n >= 49 /* 1 */ && n <= 57 /* 9 */) {
      if (text !== '') parts.push(text);
      text = '';
      parts.push(n - 48);
      i++;
    } else {
      text += c;
    }
  }
  if (text !== '') parts.push(text);
  return parts;
}

/** The highest $N a template uses (0 for none), for the config check. */
export function highestGroup(to: string): number {
  return Math.max(0, ...compileTemplate(to).filter((p): p is number => typeof p === 'number'));
}

export type Rewriter = (url: string) => string;

/** The route's rewriter, or undefined when it has neither strip_prefix nor rewrite. Throws RewriteRefusedError per request. */
export function compileRewrite(config: RewriteConfig): Rewriter | undefined {
  const strip = config.strip_prefix;
  const from = config.rewrite ? new RegExp(config.rewrite.from) : undefined;
  const to = config.rewrite ? compileTemplate(config.rewrite.to) : [];
  if (strip === undefined && from === undefined) return undefined;
  return (url) => {
    const q = queryStart(url);
    let path: string;
    try {
      path = normalisePath(url.slice(0, q));
    } catch (err) {
      if (err instanceof BadPathError) throw new RewriteRefusedError(err.message);
      throw err;
    }
    let changed = false;
    if (strip !== undefined && path.startsWith(strip) && (path.length === strip.length || path.charCodeAt(strip.length) === 47 /* / */)) {
      path = path.length === strip.length ? '/' : path.slice(strip.length);
      changed = true;
    }
    if (from !== undefined) {
      const m = from.exec(path);
      if (m !== null) {
        let out = '';
        for (const part of to) out += typeof part === 'string' ? part : (m[part] ?? '');
        path = out;
        changed = true;
      }
    }
    return changed ? encodePath(cleanPath(path)) + url.slice(q) : url;
  };
}

function queryStart(url: string): number {
  for (let i = 0; i < url.length; i++) {
    const c = url.charCodeAt(i);
    if (c === 63 /* ? */ || c === 35 /* # */) return i;
  }
  return url.length;
}

/** Empty and "." segments dropped (a trailing "/" kept); a ".." segment, or no leading "/", refused. */
export function cleanPath(path: string): string {
  if (path.charCodeAt(0) !== 47) throw new RewriteRefusedError(`rewritten path "${path}" does not start with "/"`);
  if (path.includes('\0')) throw new RewriteRefusedError('NUL in rewritten path');
  const segments = path.split('/');
  const out: string[] = [];
  for (let i = 1; i < segments.length; i++) {
    const seg = segments[i]!;
    if (seg === '..') throw new RewriteRefusedError(`rewritten path "${path}" has a ".." segment`);
    if (seg === '' || seg === '.') {
      if (i === segments.length - 1) out.push('');
      continue;
    }
    out.push(seg);
  }
  return '/' + out.join('/');
}

/** A decoded path as a request target: what is not allowed in a path, "%", "?" and "#" encoded. */
export function encodePath(path: string): string {
  let encoded: string;
  try {
    encoded = encodeURI(path);
  } catch {
    throw new RewriteRefusedError('rewritten path is not valid Unicode');
  }
  return encoded.replace(/[?#]/g, (c) => (c === '?' ? '%3F' : '%23'));
}
