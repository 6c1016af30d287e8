// What a site's TLS settings mean for each request: served over HTTPS or not, redirected from
// plain HTTP or not, and the Strict-Transport-Security value to send. Computed once per config.

import { isLocalName } from '../config/address.ts';
import type { Site } from '../config/schema.ts';

export interface SitePolicy {
  /** The site has a certificate and is served over HTTPS. */
  secure: boolean;
  /** Plain-HTTP requests get a 308 to HTTPS. */
  redirect: boolean;
  /** Strict-Transport-Security value for HTTPS responses, if any. */
  hsts: string | undefined;
}

const HSTS_DEFAULT = 'max-age=31536000';

export function sitePolicy(site: Site): SitePolicy {
  const secure = site.tls !== 'off';
  // on by default only where a public CA vouches for the name: a local-CA site is often reached
  // from machines that do not trust that CA, and HSTS would lock them out
  const publicCert = (site.tls === 'auto' && site.hosts.some((h) => !isLocalName(h))) || site.tls === 'on_demand';
  const hsts = !secure || site.hsts === false ? undefined
    : typeof site.hsts === 'string' ? site.hsts
    : site.hsts === true || publicCert ? HSTS_DEFAULT : undefined;
  return { secure, redirect: secure && site.https_redirect, hsts };
}
