// Which certificates a config needs and where each comes from: the ACME CA, edge's local CA, or
// files the user manages. Pure: config in, list out.

import { isLocalName } from '../config/address.ts';
import type { Config, Site } from '../config/schema.ts';
import type { ChallengeType } from './acme.ts';

export type CertSource =
  /** `names`: every name of the certificate when it is more than `name` (*.example.com and example.com). */
  | { kind: 'acme'; name: string; names?: string[]; challenges?: ChallengeType[] }
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
    const isAcme = (name: string) => site.tls === 'auto' && !isLocalName(name);
    // example.com listed beside *.example.com goes in the wildcard's certificate: both are dns-01 anyway
    const besideWildcard = new Set(site.hosts.filter((h) => h.startsWith('*.') && isAcme(h)).map((h) => h.slice(2)).filter((base) => site.hosts.includes(base) && isAcme(base)));
    for (const name of site.hosts) {
      if (seen.has(name) || besideWildcard.has(name)) continue;
      seen.add(name);
      // otherwise one certificate per name: a name that fails to validate never holds up the others
      if (!isAcme(name)) {
        plan.push({ kind: 'local', name });
        continue;
      }
      const wildcard = name.startsWith('*.');
      const base = name.slice(2);
      const source: CertSource = { kind: 'acme', name };
      if (wildcard && besideWildcard.has(base) && !seen.has(base)) {
        seen.add(base);
        source.names = [name, base];
      }
      // only DNS-01 can validate a wildcard
      const challenges = wildcard ? ['dns-01' as const] : site.challenges;
      if (challenges) source.challenges = challenges;
      plan.push(source);
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
