// Which certificates a config needs and where each comes from: the ACME CA, edge's local CA, or
// files the user manages. Pure: config in, list out.

import { isLocalName } from '../config/address.ts';
import type { Site } from '../config/schema.ts';

export type CertSource =
  | { kind: 'acme'; name: string }
  | { kind: 'local'; name: string }
  | { kind: 'files'; names: string[]; cert: string; key: string };

export function certificatePlan(sites: readonly Site[]): CertSource[] {
  const plan: CertSource[] = [];
  const seen = new Set<string>();
  for (const site of sites) {
    // on_demand names are found at handshake time (tls/on-demand.ts)
    if (site.tls === 'off' || site.tls === 'on_demand') continue;
    if (typeof site.tls === 'object') {
      plan.push({ kind: 'files', names: site.hosts, cert: site.tls.cert, key: site.tls.key });
      continue;
    }
    for (const name of site.hosts) {
      if (seen.has(name)) continue;
      seen.add(name);
      // one certificate per name: a name that fails to validate never holds up the others
      const local = site.tls === 'internal' || isLocalName(name);
      plan.push(local ? { kind: 'local', name } : { kind: 'acme', name });
    }
  }
  return plan;
}

/** A storage folder name for a certificate name: "*.example.com" → "wildcard_.example.com". */
export function nameFolder(name: string): string {
  return name.replace(/^\*/, 'wildcard_').replace(/:/g, '_');
}
