// The propagation check of DNS-01: before the CA is told to validate, every authoritative server
// of the zone must answer the TXT record (a CA may ask any of them, and a secondary that has not
// pulled the update yet would fail the challenge). Polled once a second, bounded by a timeout,
// with a progress line now and then.

import { Resolver } from 'node:dns/promises';
import { randomInt } from 'node:crypto';
import { decode, txtQuery } from './message.ts';
import { DnsError, describeServer, exchange, type DnsServer } from './transport.ts';

const POLL_MS = 1000;
const PROGRESS_MS = 10_000;

/** The servers the zone's NS records name, by address (port 53), found through the system resolver. */
export async function authoritativeServers(zone: string): Promise<DnsServer[]> {
  const resolver = new Resolver({ timeout: 3000, tries: 2 });
  const names = await resolver.resolveNs(zone);
  const servers: DnsServer[] = [];
  for (const ns of names) {
    const v4 = await resolver.resolve4(ns).catch(() => [] as string[]);
    const v6 = v4.length ? [] : await resolver.resolve6(ns).catch(() => [] as string[]);
    for (const host of [...v4, ...v6]) servers.push({ host, port: 53 });
  }
  return servers;
}

/** The zone a name belongs to: the nearest enclosing name with an SOA record. */
export async function findZone(name: string): Promise<string> {
  const resolver = new Resolver({ timeout: 3000, tries: 2 });
  const labels = name.replace(/\.$/, '').split('.');
  for (let i = 0; i < labels.length - 1; i++) {
    const candidate = labels.slice(i).join('.');
    if (await resolver.resolveSoa(candidate).then(() => true, () => false)) return candidate;
  }
  throw new DnsError('ENOZONE', `cannot find the DNS zone of ${name} (no SOA record found)`);
}

async function answers(server: DnsServer, name: string, value: string): Promise<boolean> {
  try {
    const raw = await exchange(server, txtQuery(randomInt(0, 0x10000), name), (a) => decode(a).truncated, 3000);
    return decode(raw).txt.includes(value);
  } catch {
    return false;
  }
}

/** Resolves once every server answers TXT `name` with `value`; rejects after `timeoutMs`. */
export async function waitForTxt(opts: {
  name: string;
  value: string;
  servers: DnsServer[];
  timeoutMs: number;
  progress: (line: string) => void;
}): Promise<void> {
  const pending = new Set(opts.servers);
  const started = Date.now();
  let said = 0;
  for (;;) {
    for (const server of [...pending]) if (await answers(server, opts.name, opts.value)) pending.delete(server);
    if (pending.size === 0) return;
    const elapsed = Date.now() - started;
    const list = [...pending].map(describeServer).join(', ');
    if (elapsed >= opts.timeoutMs) {
      throw new DnsError('EPROPAGATION', `TXT ${opts.name} not seen at ${list} after ${Math.round(elapsed / 1000)} s (the propagation timeout)`);
    }
    if (elapsed >= said) {
      opts.progress(`waiting for TXT ${opts.name} at ${list} (${opts.servers.length - pending.size} of ${opts.servers.length} servers have it)`);
      said = elapsed + PROGRESS_MS;
    }
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}
