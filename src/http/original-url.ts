// The request target as the client sent it, kept when a route's strip_prefix or rewrite changes
// req.url for the action: the access log and the redirects edge makes for the client (a folder's
// missing "/") speak of what the client asked for, the action and the upstream of the new one.

const ORIGINAL = Symbol('edge.originalUrl');

interface Rewritable {
  url?: string | undefined;
  [ORIGINAL]?: string;
}

/** Replaces the request's target, keeping the first one. */
export function setRequestUrl(req: object, url: string): void {
  const r = req as Rewritable;
  r[ORIGINAL] ??= r.url;
  r.url = url;
}

/** The target the client sent (req.url when nothing changed it). */
export function originalUrl(req: object): string | undefined {
  const r = req as Rewritable;
  return r[ORIGINAL] ?? r.url;
}
