// The `tls:` settings of an upstream pool, for its https:// upstreams: the roots that verify the
// upstream's certificate (the system's, or a `ca` file read at load), the name sent as SNI and
// checked against the certificate, and `verify: false` for the case nothing else fits, which is
// allowed but said loudly at every load.

import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as z from 'zod';
import type { UpstreamTls } from './address.ts';
import type { Problem } from './errors.ts';
import type { Locate } from './issues.ts';

const PEM_BLOCK = /-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g;

/** The PEM text of `file` when it holds certificates only Node can parse, else a message. */
function readCaFile(file: string): string | { error: string } {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    return { error: `cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})` };
  }
  const blocks = text.match(PEM_BLOCK) ?? [];
  if (blocks.length === 0) return { error: `${file} holds no PEM certificate (-----BEGIN CERTIFICATE-----)` };
  for (const [i, block] of blocks.entries()) {
    try {
      new X509Certificate(block);
    } catch (err) {
      return { error: `certificate ${i + 1} of ${file} does not parse: ${(err as Error).message}` };
    }
  }
  return text;
}

const caFile = z.string({ error: 'expected the path of a PEM file of CA certificates' }).min(1)
  .transform((file, ctx) => {
    const pem = readCaFile(file);
    if (typeof pem === 'object') {
      ctx.addIssue({ code: 'custom', message: pem.error });
      return z.NEVER;
    }
    return pem;
  });

const serverName = z.string({ error: 'expected a host name' })
  .regex(/^(?=.{1,253}$)([a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?\.)*[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?\.?$/i, 'server_name must be a host name, e.g. app.internal')
  .transform((name) => name.toLowerCase().replace(/\.$/, ''));

export const upstreamTlsSchema = z.strictObject({
  ca: caFile.optional()
    .describe('PEM file of the CA certificate(s) that sign the upstreams\' certificates (read at load and at reload), trusted instead of the system roots. Default: the system roots.'),
  server_name: serverName.optional()
    .describe('Name sent as SNI and checked against the upstream\'s certificate. Default: the host of the https:// address (no SNI for an IP address, whose certificate must then name the IP).'),
  verify: z.boolean().default(true)
    .describe('Verify the upstream\'s certificate and name. false accepts any certificate (anyone on the path can read and change the traffic): edge warns at every load. Default true.'),
}).describe('How edge speaks TLS to the https:// upstreams of this pool.');

/** A pool's tls: only means something with an https:// upstream in it. */
export function checkUpstreamTls(pool: { tls?: unknown; to?: unknown }, ctx: z.RefinementCtx): void {
  if (pool.tls === undefined || !Array.isArray(pool.to)) return;
  // an address that did not parse is undefined here: its own error is reported
  if (!(pool.to as ({ address?: { tls?: unknown } } | undefined)[]).some((spec) => spec?.address?.tls !== undefined)) {
    ctx.addIssue({ code: 'custom', path: ['tls'], message: 'tls applies to https:// upstreams, and to: has none (write https://host:port)' });
  }
}

/** Every pool with tls.verify: false, as a warning to print at each load (edge check, run, reload). */
export function unverifiedUpstreams(
  config: { upstreams: Record<string, { tls?: UpstreamTls }>; sites: { routes: { proxy?: { tls?: UpstreamTls } }[] }[] },
  locate: Locate,
  pathIn: (path: readonly PropertyKey[]) => string,
): Problem[] {
  const pools: [PropertyKey[], UpstreamTls | undefined][] = [
    ...Object.entries(config.upstreams).map(([name, pool]): [PropertyKey[], UpstreamTls | undefined] => [['upstreams', name], pool.tls]),
    ...config.sites.flatMap((site, s) => site.routes.map((route, r): [PropertyKey[], UpstreamTls | undefined] => [['sites', s, 'routes', r, 'proxy'], route.proxy?.tls])),
  ];
  return pools.flatMap(([at, tls]) => {
    if (tls?.verify !== false) return [];
    const path = [...at, 'tls', 'verify'];
    return [{
      where: locate(path),
      path: pathIn(path),
      message: 'tls.verify is false: any certificate is accepted from these https:// upstreams, so anyone on the path can read and change the traffic; set tls.ca to the CA that signs them instead',
      severity: 'warning' as const,
    }];
  });
}
