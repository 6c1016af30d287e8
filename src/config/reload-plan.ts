// What a reload cannot apply in place: settings bound to open sockets, log files or the ACME
// account. Pure: old and new config in, one message per setting out. Everything else (sites,
// routes, certificates, body limits, grace_period) is applied by the reload itself.

import type { Config } from './schema.ts';

/** Settings the listeners, the admin endpoint, the logs or the certificate manager were opened with. */
const FIXED: ((c: Config) => [string, unknown])[] = [
  (c) => ['http_port', c.http_port],
  (c) => ['https_port', c.https_port],
  (c) => ['bind', c.bind],
  (c) => ['admin', c.admin],
  (c) => ['storage', c.storage],
  (c) => ['log', c.log],
  (c) => ['acme', c.acme],
  (c) => ['limits.max_header_size', c.limits.max_header_size],
  (c) => ['limits.header_timeout', c.limits.header_timeout],
  (c) => ['limits.keepalive_timeout', c.limits.keepalive_timeout],
  (c) => ['workers', c.workers],
];

export interface ReloadFacts {
  /** Whether each config needs the HTTPS listener and an ACME account. */
  tls: [boolean, boolean];
  acme: [boolean, boolean];
}

export function restartNeeded(old: Config, next: Config, facts: ReloadFacts): string[] {
  const out: string[] = [];
  for (const setting of FIXED) {
    const [key, before] = setting(old);
    const after = setting(next)[1];
    if (JSON.stringify(before) !== JSON.stringify(after)) out.push(`${key} changed (${show(before)} → ${show(after)}): restart edge to apply it`);
  }
  if (!facts.tls[0] && facts.tls[1]) out.push('a site now has TLS, and edge was started without an HTTPS listener: restart edge to serve it');
  else if (!facts.acme[0] && facts.acme[1]) out.push('a site now needs ACME certificates, and edge was started without an ACME account: restart edge to obtain them');
  return out;
}

function show(value: unknown): string {
  const text = JSON.stringify(value) ?? 'unset';
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}
