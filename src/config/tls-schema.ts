// The HTTPS part of the config: each site's tls mode, HSTS and redirect, and the acme section.

import * as z from 'zod';
import { isLocalName } from './address.ts';
import { duration } from './values.ts';

export const CA_DIRECTORIES: Record<string, string> = {
  letsencrypt: 'https://acme-v02.api.letsencrypt.org/directory',
  'letsencrypt-staging': 'https://acme-staging-v02.api.letsencrypt.org/directory',
};

const tlsFiles = z.strictObject({
  cert: z.string().describe('PEM file with the certificate, then its chain.'),
  key: z.string().describe('PEM file with the private key.'),
});

export const siteTlsFields = {
  tls: z.union([z.enum(['auto', 'internal', 'off', 'on_demand']), tlsFiles], {
    error: 'tls must be auto, internal, off, on_demand, or { cert, key } naming certificate files',
  }).default('auto').describe(
    'auto: a certificate from the ACME CA (acme.ca), or from edge\'s local CA for localhost, IP addresses and '
    + '*.localhost/.test/.internal/.local names; internal: always the local CA; off: plain HTTP only; '
    + 'on_demand: obtained at the first handshake for a name acme.on_demand.ask approves (hosts may be "*" or *.wildcards); '
    + '{ cert, key }: certificate files you manage. Default auto.'),
  https_redirect: z.boolean().default(true)
    .describe('Answer plain-HTTP requests with a 308 redirect to HTTPS (ACME challenges are still answered). Default true.'),
  hsts: z.union([z.boolean(), z.string()]).optional()
    .describe('Strict-Transport-Security: true (max-age=31536000), false, or the header value. Default: on for ACME certificates.'),
};

/** Per site: names ACME cannot validate (wildcards need DNS-01) are errors, found at load time. */
export function checkSiteTls(site: { hosts: string[]; tls: unknown }, ctx: z.RefinementCtx): void {
  site.hosts.forEach((host, i) => {
    if (host === '*' && site.tls !== 'on_demand') {
      ctx.addIssue({
        code: 'custom',
        path: ['hosts', i],
        message: '"*" would serve every host, which only makes sense with tls: on_demand (an ask endpoint vets each name); otherwise list the names',
      });
    } else if (site.tls === 'auto' && host.startsWith('*.') && !isLocalName(host)) {
      ctx.addIssue({
        code: 'custom',
        path: ['hosts', i],
        message: `${host} needs a DNS-01 challenge for a certificate, which edge does not do: use tls: internal or tls: { cert, key }, or list the names`,
      });
    }
  });
}

export const acmeSchema = z.strictObject({
  email: z.email({ error: 'expected an email address' }).optional()
    .describe('Contact address for the ACME account (optional: Let\'s Encrypt no longer emails about expiry).'),
  ca: z.string().default('letsencrypt').refine((ca) => ca in CA_DIRECTORIES || /^https?:\/\/\S+$/.test(ca), {
    message: 'acme.ca must be letsencrypt, letsencrypt-staging, or the URL of an ACME directory',
  }).describe('letsencrypt, letsencrypt-staging, or any ACME directory URL. Default letsencrypt.'),
  ca_root: z.string().optional()
    .describe('PEM file of an extra root to trust when talking to the ACME server (a private CA, or Pebble in tests).'),
  profile: z.string().optional().describe('Certificate profile to ask for: classic, tlsserver, shortlived (if the CA offers profiles).'),
  eab: z.strictObject({
    kid: z.string(),
    hmac_key: z.string(),
  }).optional().describe('External account binding, for CAs that need one.'),
  challenges: z.array(z.enum(['http-01', 'tls-alpn-01'], { error: 'challenges are http-01 and tls-alpn-01' }))
    .min(1, 'list at least one challenge type').default(['http-01', 'tls-alpn-01'])
    .describe('Challenge types in order of preference; when one fails the next is tried. Default [http-01, tls-alpn-01].'),
  on_demand: z.strictObject({
    ask: z.url({ error: 'expected the URL of your ask endpoint' })
      .describe('Asked GET ASK?domain=NAME before a certificate is obtained for NAME; a 2xx answer means yes.'),
    burst: z.int().min(1).default(10).describe('New certificates allowed per interval, whatever ask says. Default 10.'),
    interval: duration('The rate limit window.', '1m'),
  }).optional().describe('On-demand TLS for sites with tls: on_demand: certificates obtained at the first handshake for a name.'),
  preflight: z.boolean().default(true)
    .describe('Before ordering, check that each name resolves, so a name that cannot pass is reported instead of using up the CA\'s failure budget. Default true.'),
}).describe('Automatic certificates (ACME).');

/** The ACME directory URL for the configured acme.ca. */
export function directoryUrl(ca: string): string {
  return CA_DIRECTORIES[ca] ?? ca;
}
