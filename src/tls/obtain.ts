// Where a new certificate comes from, and when the CA would like it renewed: the ACME CA (after a
// DNS preflight, naming the certificate it replaces when the CA supports ARI) or the local CA, and
// the ARI renewal window for a certificate it issued. The local CA (node-forge) and ARI (an X.509
// library) are loaded on first use: a process that needs neither never pays for them.

import { lookup } from 'node:dns/promises';
import type { Logger } from '../ops/log.ts';
import type { Storage } from './storage/storage.ts';
import type { ServedCertificate } from './context.ts';
import type { AcmeIssuer, ChallengeType } from './acme.ts';
import type { Issued } from './cert-store.ts';
import type { LocalCA } from './local-ca.ts';
import { nextAriCheck, type Window } from './renewal.ts';
import type { CertSource } from './plan.ts';

export interface ObtainOptions {
  storage: Storage;
  logger: Logger;
  acme?: AcmeIssuer;
  acmeCaRoot?: string;
  preflight: boolean;
}

/** The certificate wanted: its name, every name it covers, its CA, and the one it replaces. */
export interface Wanted {
  name: string;
  names: string[];
  source: CertSource['kind'];
  /** In place of acme.challenges (dns-01 for a wildcard, or the site's own list). */
  challenges?: ChallengeType[];
  cert?: ServedCertificate;
}

export class Obtainer {
  private readonly opts: ObtainOptions;
  private localCa: Promise<LocalCA> | undefined;
  private renewalInfoUrl: Promise<string | undefined> | undefined;

  constructor(opts: ObtainOptions) {
    this.opts = opts;
  }

  obtain(wanted: Wanted, progress: (step: string) => void): Promise<Issued> {
    return wanted.source === 'acme' ? this.fromAcme(wanted, progress) : this.fromLocalCa(wanted);
  }

  /** The CA's renewal window for `cert` and when to ask again; without ARI, never (the backstop applies). */
  async renewalWindow(name: string, cert: ServedCertificate): Promise<{ window?: Window; nextAri: Date }> {
    const url = await this.ariUrl();
    const now = new Date();
    if (!url) return { nextAri: new Date(8.64e15) };
    try {
      const { fetchRenewalInfo } = await import('./ari.ts');
      const info = await fetchRenewalInfo(url, cert.certPem, { ca: this.opts.acmeCaRoot });
      return { window: info.window, nextAri: nextAriCheck({ now, retryAfterMs: info.retryAfterMs, random: Math.random() }) };
    } catch (err) {
      this.opts.logger.warn(`certificate ${name}: renewal info unavailable (${(err as Error).message}); asking again in an hour`);
      return { nextAri: new Date(now.getTime() + 3_600_000) };
    }
  }

  private async fromAcme(wanted: Wanted, progress: (step: string) => void): Promise<Issued> {
    // DNS-01 needs no address pointing here
    if (this.opts.preflight && !(wanted.challenges ?? this.opts.acme!.challengeTypes).every((c) => c === 'dns-01')) {
      try {
        await lookup(wanted.name);
      } catch (err) {
        throw new Error(`preflight: ${wanted.name} does not resolve (${(err as NodeJS.ErrnoException).code}); point its DNS at this server first`);
      }
    }
    const replaces = wanted.cert && (await this.ariUrl()) ? (await import('./ari.ts')).certId(wanted.cert.certPem) : undefined;
    return this.opts.acme!.obtain(wanted.names, { challenges: wanted.challenges, replaces, progress });
  }

  private async fromLocalCa(wanted: Wanted): Promise<Issued> {
    this.localCa ??= import('./local-ca.ts').then(({ LocalCA }) => LocalCA.load(this.opts.storage));
    const issued = await (await this.localCa).issue(wanted.names);
    return { certPem: issued.chainPem, keyPem: issued.keyPem };
  }

  private ariUrl(): Promise<string | undefined> {
    this.renewalInfoUrl ??= this.opts.acme!.renewalInfoUrl().catch(() => undefined);
    return this.renewalInfoUrl;
  }
}
