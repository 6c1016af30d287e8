// The start-up banner: what listens where and what each site and route does.

import type { Config } from '../config/schema.ts';
import type { Action } from './actions.ts';
import type { SiteEntry } from './router.ts';

export interface BannerFacts {
  version: string;
  source: string;
  listening: string[];
  /** From siteLines(): the sites and their routes (a worker sends them to the supervisor). */
  sites: string[];
  storage: string | undefined;
  admin: string;
  access: string;
  /** With workers: how many, and their pids. */
  workers?: string;
  /** The open-files limit each process has (src/ops/open-files.ts), where it can be read. */
  openFiles?: string;
}

export function siteLines(sites: readonly SiteEntry<Action>[]): string[] {
  const lines: string[] = [];
  for (const site of sites) {
    const tls = site.site.tls;
    const mode = tls === 'off' ? 'http only' : typeof tls === 'object' ? `https, certificate ${tls.cert}` : `https, ${tls.replace('_', '-')} certificates`;
    lines.push(`  site       ${site.site.hosts.join(', ')} (${mode})`);
    const width = Math.max(...site.routes.map((r) => r.pattern.length));
    for (const r of site.routes) lines.push(`    ${r.pattern.padEnd(width)}  ${r.handler.describe()}`);
  }
  if (sites.length === 0) lines.push('  no sites configured: every request gets 404');
  return lines;
}

export function accessLine(log: Config['log']): string {
  return log.access === 'off' ? 'off' : `${log.access} (${log.format})`;
}

export function banner(f: BannerFacts): string {
  const lines = [`edge ${f.version} (Node ${process.versions.node}, pid ${process.pid}) config ${f.source}`];
  for (const l of f.listening) lines.push(`  listening  ${l}`);
  if (f.workers) lines.push(`  workers    ${f.workers}`);
  if (f.openFiles) lines.push(`  open files ${f.openFiles}`);
  lines.push(...f.sites);
  if (f.storage) lines.push(`  storage    ${f.storage}`);
  lines.push(`  admin      ${f.admin}`);
  lines.push(`  access log ${f.access}`);
  return lines.join('\n');
}
