// Invalidation after unsafe methods (RFC 9111 4.4): a non-error answer to POST, PUT, DELETE, ...
// invalidates the target URI and the URIs in Location and Content-Location, but only those on the
// same origin (else one site could purge another's entries).

const SAFE = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE']);

export function invalidates(method: string, status: number): boolean {
  return !SAFE.has(method) && status >= 200 && status < 400;
}

/** Absolute URLs (origin + path + query) to invalidate; `target` is the request's absolute URL. */
export function invalidationTargets(target: string, location: string | undefined, contentLocation: string | undefined): string[] {
  const base = new URL(target);
  const out = [base.origin + base.pathname + base.search];
  for (const ref of [location, contentLocation]) {
    if (ref === undefined || ref === '') continue;
    let url: URL;
    try {
      url = new URL(ref, base);
    } catch {
      continue;
    }
    const abs = url.origin + url.pathname + url.search;
    if (url.origin === base.origin && !out.includes(abs)) out.push(abs);
  }
  return out;
}
