// What a reload cannot apply in place: settings bound to open sockets, log files or the ACME
// account. Old and new config in, one message per setting out. Everything else (sites, routes,
// certificates, body limits, grace_period) is applied by the reload itself.
//
// The comparison is with what is bound, not with the last file: after a reload that changed
// https_port (not applied) and one that put it back, edge still listens on the first port and
// must not ask for a restart. So each config a reload puts in place remembers the config edge
// was started with, and the next reload compares against that one.

import { createHash } from 'node:crypto';
import type { Config } from './schema.ts';

/** Settings the listeners, the admin endpoint, the logs or the certificate manager were opened with. */
const FIXED: ((c: Config) => [string, unknown])[] = [
  (c) => ['http_port', c.http_port],
  (c) => ['https_port', c.https_port],
  (c) => ['bind', c.bind],
  (c) => ['proxy_protocol', c.proxy_protocol],
  (c) => ['admin', c.admin],
  (c) => ['storage', c.storage],
  (c) => ['log', c.log],
  (c) => ['acme', { ...c.acme, dns: undefined }],
  (c) => ['acme.dns', c.acme.dns && withoutSecret(c.acme.dns)],
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

interface Bound {
  config: Config;
  tls: boolean;
  acme: boolean;
}

/** For a config put in place by a reload: the one the sockets, logs and account were opened with. */
const boundAtStart = new WeakMap<Config, Bound>();

/**
 * `old` is the running config, `next` the one about to replace it; `facts` describe both. `next`
 * is remembered as running on what `old` was started with.
 */
export function restartNeeded(old: Config, next: Config, facts: ReloadFacts): string[] {
  const bound = boundAtStart.get(old) ?? { config: old, tls: facts.tls[0], acme: facts.acme[0] };
  boundAtStart.set(next, bound);
  const out: string[] = [];
  for (const setting of FIXED) {
    const [key, before] = setting(bound.config);
    const after = setting(next)[1];
    if (JSON.stringify(before) !== JSON.stringify(after)) out.push(`${key} changed (${show(before)} → ${show(after)}): restart edge to apply it`);
  }
  if (!bound.tls && facts.tls[1]) out.push('a site now has TLS, and edge was started without an HTTPS listener: restart edge to serve it');
  else if (!bound.acme && facts.acme[1]) out.push('a site now needs ACME certificates, and edge was started without an ACME account: restart edge to obtain them');
  return out;
}

/** A TSIG secret never goes into a log line: a change of it shows as a change of its fingerprint. */
function withoutSecret(dns: NonNullable<Config['acme']['dns']>): object {
  if (dns.provider !== 'rfc2136') return dns;
  return { ...dns, key_secret: `sha256:${createHash('sha256').update(dns.key_secret).digest('hex').slice(0, 8)}` };
}

function show(value: unknown): string {
  const text = JSON.stringify(value) ?? 'unset';
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}
