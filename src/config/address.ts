// Parsing of the address forms config accepts: upstream targets and host names.

import { isIP } from 'node:net';

/** How edge speaks TLS to an https:// upstream (the pool's `tls:` settings). */
export interface UpstreamTls {
  /** PEM of the roots to trust instead of the system's (read from `tls.ca` at load). */
  ca?: string;
  /** The name sent as SNI and checked against the certificate; default the upstream's host name. */
  server_name?: string;
  verify: boolean;
}

export type UpstreamAddress =
  | { kind: 'tcp'; host: string; port: number; name: string; tls?: UpstreamTls }
  | { kind: 'unix'; path: string; name: string };

const HOST_PORT_RE = /^(\[[0-9a-f:.]+\]|[a-z0-9.-]+):(\d{1,5})$/i;

/** `host:port`, `http://host:port`, `https://host:port`, `unix:/path.sock`. Returns an error message for anything else. */
export function parseUpstream(text: string): UpstreamAddress | string {
  const raw = text.trim();
  if (raw.startsWith('unix:')) {
    const path = raw.slice(5);
    if (!path.startsWith('/')) return `unix socket path must be absolute, got "${path}"`;
    return { kind: 'unix', path, name: `unix:${path}` };
  }
  let hostPort = raw;
  const scheme = /^(https?):\/\//i.exec(raw)?.[1]?.toLowerCase();
  if (scheme) {
    hostPort = raw.slice(scheme.length + 3);
    if (hostPort.endsWith('/')) hostPort = hostPort.slice(0, -1);
    if (!/(^[^[]*|\]):\d+$/.test(hostPort)) hostPort += scheme === 'https' ? ':443' : ':80';
  }
  const m = HOST_PORT_RE.exec(hostPort);
  if (!m) return `expected host:port, http://host:port, https://host:port or unix:/path, got "${text}"`;
  const port = Number(m[2]);
  if (port < 1 || port > 65535) return `port out of range in "${text}"`;
  const host = m[1]!.startsWith('[') ? m[1]!.slice(1, -1) : m[1]!.toLowerCase();
  if (m[1]!.startsWith('[') && isIP(host) !== 6) return `bad IPv6 address in "${text}"`;
  // verified against the system roots until the pool's tls: settings say otherwise
  if (scheme === 'https') return { kind: 'tcp', host, port, name: `https://${m[1]}:${port}`, tls: { verify: true } };
  return { kind: 'tcp', host, port, name: `${m[1]}:${port}` };
}

const LABEL_RE = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;

/**
 * A site host: `example.com`, `*.example.com` (exactly one label), `localhost` or an IP address.
 * Returns the normalised (lower case, no trailing dot) name or an error message.
 */
export function normaliseSiteHost(text: string): { host: string } | { error: string } {
  let host = text.trim().toLowerCase();
  if (host.endsWith('.')) host = host.slice(0, -1);
  if (host === '') return { error: 'empty host name' };
  // any host: allowed only for tls: on_demand sites, where the ask endpoint vets each name
  if (host === '*') return { host };
  if (isIP(host)) return { host };
  if (host.startsWith('[') && host.endsWith(']') && isIP(host.slice(1, -1)) === 6) return { host: host.slice(1, -1) };
  if (/:\d+$/.test(host)) return { error: `hosts are names without a port, got "${text}" (ports are set by http_port)` };
  const labels = host.split('.');
  const wildcard = labels[0] === '*';
  if (host.includes('*') && (!wildcard || labels.slice(1).some((l) => l.includes('*')))) {
    return { error: `a wildcard must be the whole first label, like *.example.com; got "${text}"` };
  }
  if (wildcard && labels.length < 2) return { error: `"*" alone would match every host; list the names to serve` };
  const bad = (wildcard ? labels.slice(1) : labels).find((l) => !LABEL_RE.test(l));
  if (bad !== undefined || host.length > 253) return { error: `"${text}" is not a valid host name` };
  return { host };
}

/**
 * Suffixes no public CA can certify: loopback and testing (RFC 6761 .localhost, .test, .invalid;
 * RFC 2606 .example), private networks (ICANN's .internal, RFC 8375 .home.arpa) and mDNS (RFC 6762
 * .local). Caddy's list plus the RFC 6761/2606 test names.
 */
const LOCAL_SUFFIXES = ['.localhost', '.test', '.invalid', '.example', '.internal', '.home.arpa', '.local'];

/**
 * Names edge's local CA certifies instead of a public one: localhost, IP addresses, and names
 * under the reserved suffixes above (wildcards included).
 */
export function isLocalName(host: string): boolean {
  const name = host.toLowerCase().replace(/\.$/, '');
  if (name === 'localhost' || isIP(name) !== 0) return true;
  return LOCAL_SUFFIXES.some((suffix) => name.endsWith(suffix));
}
