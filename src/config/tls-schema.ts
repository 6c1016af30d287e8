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

const CHALLENGES = ['http-01', 'tls-alpn-01', 'dns-01'] as const;
const challengeList = z.array(z.enum(CHALLENGES, { error: 'challenges are http-01, tls-alpn-01 and dns-01' }))
  .min(1, 'list at least one challenge type');

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
  challenges: challengeList.optional()
    .describe('This site\'s challenge types, in place of acme.challenges: e.g. [dns-01] for names that do not point at this server yet. *.wildcard names always use dns-01.'),
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
    }
  });
}

/** A TSIG secret: base64 of at least 16 bytes (RFC 8945 asks for at least half the hash size). */
const tsigSecret = z.string().refine((v) => /^[A-Za-z0-9+/]+={0,2}$/.test(v) && Buffer.from(v, 'base64').length >= 16, {
  message: 'key_secret must be the base64 of the TSIG key (at least 16 bytes), as in the server\'s key file',
});

const dnsServer = z.string().regex(/^(\[[0-9a-f:.]+\]|[a-z0-9.-]+)(:\d{1,5})?$/i, 'expected a DNS server as host or host:port (port 53 if none), e.g. 10.0.0.53:53');

/** What every DNS provider shares: how the propagation check is done. */
const propagationFields = {
  propagation_timeout: duration('How long to wait for every authoritative server of the zone to answer the TXT record before telling the CA to validate.', '2m'),
  nameservers: z.array(dnsServer).min(1, 'list at least one server').optional()
    .describe('The servers the propagation check asks (host:port), in place of the zone\'s NS records: for a hidden primary, or tests on loopback.'),
};

const rfc2136Schema = z.strictObject({
  provider: z.literal('rfc2136'),
  server: dnsServer.describe('The zone\'s primary server, which takes dynamic updates: host or host:port (port 53 if none).'),
  zone: z.string().regex(/^([a-z0-9-]+\.)*[a-z0-9-]+\.?$/i, 'expected a zone name, e.g. example.com').describe('The zone the TXT records go in, e.g. example.com.'),
  key_name: z.string().min(1).describe('The TSIG key\'s name, as the server knows it.'),
  key_algorithm: z.enum(['hmac-sha256', 'hmac-sha384', 'hmac-sha512', 'hmac-sha224', 'hmac-sha1'], {
    error: 'key_algorithm must be hmac-sha256, hmac-sha384, hmac-sha512, hmac-sha224 or hmac-sha1',
  }).default('hmac-sha256').describe('The TSIG key\'s algorithm. Default hmac-sha256.'),
  key_secret: tsigSecret.describe('The TSIG key\'s secret (base64).'),
  ...propagationFields,
}).describe('Dynamic DNS UPDATE (RFC 2136) signed with TSIG: BIND, Knot, PowerDNS and most self-hosted DNS.');

const execSchema = z.strictObject({
  provider: z.literal('exec'),
  command: z.string().min(1).describe('Run as COMMAND present NAME VALUE to add the TXT record NAME = VALUE, and COMMAND cleanup NAME VALUE to remove it (lego\'s exec provider, certbot\'s manual hooks).'),
  timeout: duration('How long one run of the command may take before it is stopped.', '1m'),
  zone: z.string().optional().describe('The zone of the names, for finding its authoritative servers. Default: found from the SOA records.'),
  ...propagationFields,
}).describe('A command of yours publishes the TXT records, so any DNS API can be scripted.');

export const dnsSchema = z.discriminatedUnion('provider', [rfc2136Schema, execSchema], {
  error: 'the DNS provider must be rfc2136 or exec',
}).describe('How DNS-01 challenges publish their TXT records: used for *.wildcard names and for sites whose challenges list dns-01.');
export type DnsConfig = z.output<typeof dnsSchema>;

/** True when a certificate for `host` of `site` needs the DNS-01 challenge. */
export function needsDns(site: { tls: unknown; challenges?: readonly string[] }, host: string, acmeChallenges: readonly string[]): boolean {
  if (site.tls !== 'auto' || isLocalName(host)) return false;
  return host.startsWith('*.') || (site.challenges ?? acmeChallenges).includes('dns-01');
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
  challenges: challengeList.default(['http-01', 'tls-alpn-01'])
    .describe('Challenge types in order of preference; when one fails the next is tried. dns-01 needs acme.dns. Default [http-01, tls-alpn-01].'),
  dns: dnsSchema.optional(),
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
