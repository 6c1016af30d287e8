// Which certificates a config needs and where each comes from: the ACME CA, edge's local CA, or
// files the user manages. Pure: config in, list out.

import { isLocalName } from '../config/address.ts';
import type { Config, Site } from '../config/schema.ts';

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

/** A storage folder name for a CA: "acme-v02.api.letsencrypt.org-directory". */
export function issuerId(directoryUrl: string): string {
  const url = new URL(directoryUrl);
  return `${url.hostname}${url.port ? `-${url.port}` : ''}${url.pathname}`.replace(/[^a-z0-9.]+/gi, '-').replace(/-+$/, '');
}

/** True when the config needs the HTTPS listener. */
export function usesTls(config: Config): boolean {
  return certificatePlan(config.sites).length > 0 || config.sites.some((s) => s.tls === 'on_demand');
}

/** True when the config needs an ACME account. */
export function usesAcme(config: Config): boolean {
  return certificatePlan(config.sites).some((p) => p.kind === 'acme') || config.sites.some((s) => s.tls === 'on_demand');
}
