// Obtains certificates from an ACME CA with acme-client, one step at a time so each can be
// reported: order → authorization → challenge (HTTP-01, TLS-ALPN-01 or DNS-01; the next one on a
// fresh order if the first fails) → finalize with an ECDSA P-256 key → download. The account key is
// created once and kept in storage.

import { Agent as HttpsAgent } from 'node:https';
import { rootCertificates } from 'node:tls';
import * as acme from 'acme-client';
import type { Storage } from './storage/storage.ts';
import type { Challenges } from './challenges.ts';
import { parseRetryAfter } from './renewal.ts';
import { AcmeError, reportUnreachable } from './acme-network.ts';
import { issuerId } from './plan.ts';
import { Dns01 } from './dns/dns01.ts';
import type { DnsConfig } from '../config/tls-schema.ts';

export { AcmeError, AcmeUnreachableError } from './acme-network.ts';

export type ChallengeType = 'http-01' | 'tls-alpn-01' | 'dns-01';

export interface AcmeOptions {
  directoryUrl: string;
  /** Extra root (PEM) to trust for the connection to the CA: a private CA, or Pebble. */
  caRoot?: string;
  email?: string;
  eab?: { kid: string; hmacKey: string };
  profile?: string;
  challenges: ChallengeType[];
  /** How DNS-01 publishes its TXT records (acme.dns), if configured. */
  dns?: DnsConfig;
}

interface Order {
  url: string;
  status: string;
  finalize: string;
}

export class AcmeIssuer {
  readonly id: string;
  readonly directoryUrl: string;
  private readonly opts: AcmeOptions;
  private readonly storage: Storage;
  private readonly challenges: Challenges;
  private readonly dns: Dns01 | undefined;
  private clientPromise: Promise<acme.Client> | undefined;

  constructor(opts: AcmeOptions, storage: Storage, challenges: Challenges) {
    this.opts = opts;
    this.directoryUrl = opts.directoryUrl;
    this.id = issuerId(opts.directoryUrl);
    this.storage = storage;
    this.challenges = challenges;
    this.dns = opts.dns && new Dns01(opts.dns);
    // acme-client's HTTP settings are process-wide; edge talks to one CA per process
    acme.axios.defaults.httpsAgent = new HttpsAgent({
      keepAlive: true,
      ca: opts.caRoot ? [...rootCertificates, opts.caRoot] : undefined,
    });
    // a few quick retries on 5xx/429/badNonce: edge's own backoff wraps whole orders
    (acme.axios.defaults as { acmeSettings?: { retryMaxAttempts: number; retryDefaultDelay: number } }).acmeSettings = {
      ...(acme.axios.defaults as { acmeSettings?: object }).acmeSettings,
      retryMaxAttempts: 2,
      retryDefaultDelay: 1,
    } as { retryMaxAttempts: number; retryDefaultDelay: number };
    reportUnreachable(opts.directoryUrl);
    acme.setLogger(() => {});
  }

  /** acme.challenges: the types tried when a certificate names none of its own. */
  get challengeTypes(): readonly ChallengeType[] {
    return this.opts.challenges;
  }

  /** The directory's renewalInfo URL (ARI, RFC 9773), if the CA offers it. */
  async renewalInfoUrl(): Promise<string | undefined> {
    const client = await this.client();
    const directory = await (client as unknown as { http: { getDirectory(): Promise<Record<string, unknown>> } }).http.getDirectory();
    return typeof directory.renewalInfo === 'string' ? directory.renewalInfo : undefined;
  }

  /**
   * A certificate for `names` (the first is its subject): PEM chain and key. `challenges` replaces
   * acme.challenges (a site's own list; dns-01 for wildcards). `replaces` (an ARI certID) marks the
   * order as the renewal of that certificate. `progress` hears each step.
   */
  async obtain(names: string[], opts: { challenges?: ChallengeType[]; replaces?: string; progress: (step: string) => void }): Promise<{ certPem: string; keyPem: string }> {
    const client = await this.client();
    const challenges = opts.challenges ?? this.opts.challenges;
    let lastError: Error | undefined;
    for (const type of challenges) {
      try {
        const order = await this.order(client, names, opts.replaces);
        opts.progress(`ordering (${type})`);
        await this.authorize(client, order, type, opts.progress);
        opts.progress('finalizing');
        const key = await acme.crypto.createPrivateEcdsaKey('P-256');
        const [, csr] = await acme.crypto.createCsr({ commonName: names[0], altNames: names }, key);
        const finalized = await client.finalizeOrder(order as never, csr);
        const certPem = await client.getCertificate(finalized);
        return { certPem, keyPem: key.toString() };
      } catch (err) {
        lastError = toAcmeError(err);
        if (lastError instanceof AcmeError && lastError.retryAfterMs !== undefined) throw lastError;
        const next = challenges[challenges.indexOf(type) + 1];
        if (next) opts.progress(`${type} failed (${lastError.message}); trying ${next}`);
      }
    }
    throw lastError ?? new AcmeError('no challenge type configured');
  }

  private async order(client: acme.Client, names: string[], replaces: string | undefined): Promise<Order> {
    const request: Record<string, unknown> = { identifiers: names.map((value) => ({ type: 'dns', value })) };
    if (this.opts.profile) request.profile = this.opts.profile;
    if (replaces) request.replaces = replaces;
    return (await client.createOrder(request as never)) as unknown as Order;
  }

  private async authorize(client: acme.Client, order: Order, type: ChallengeType, progress: (step: string) => void): Promise<void> {
    for (const authz of await client.getAuthorizations(order as never)) {
      if (authz.status === 'valid') continue;
      const challenge = authz.challenges.find((c) => c.type === type);
      if (!challenge) throw new AcmeError(`the CA offers no ${type} challenge for ${authz.identifier.value}`);
      const keyAuthorization = await client.getChallengeKeyAuthorization(challenge);
      // acme-client answers a wildcard's authorization with the base name and a wildcard flag
      const name = (authz as { wildcard?: boolean }).wildcard ? `*.${authz.identifier.value}` : authz.identifier.value;
      const token = (challenge as { token: string }).token;
      let removeTxt: (() => Promise<void>) | undefined;
      if (type === 'dns-01') {
        if (!this.dns) throw new AcmeError(`${name} needs dns-01, and acme.dns is not configured`);
        // for dns-01 acme-client's "key authorization" is already the TXT value (its digest)
        removeTxt = await this.dns.present(name, keyAuthorization, progress);
      } else if (type === 'http-01') {
        await this.challenges.setHttp(token, keyAuthorization);
      } else {
        const [keyPem, certPem] = await acme.crypto.createAlpnCertificate(authz, keyAuthorization);
        await this.challenges.setAlpn(name, { certPem: certPem.toString(), keyPem: keyPem.toString() });
      }
      try {
        progress('validating');
        await client.completeChallenge(challenge);
        await client.waitForValidStatus(challenge);
      } finally {
        if (removeTxt) await removeTxt();
        else if (type === 'http-01') await this.challenges.deleteHttp(token);
        else await this.challenges.deleteAlpn(name);
      }
    }
  }

  private client(): Promise<acme.Client> {
    this.clientPromise ??= this.createClient().catch((err) => {
      this.clientPromise = undefined;
      throw toAcmeError(err);
    });
    return this.clientPromise;
  }

  /** Loads the account (key and URL) from storage, or registers one, under a lock. */
  private async createClient(): Promise<acme.Client> {
    const lock = await this.storage.lock(`${this.id}-account`);
    try {
      let key = await this.storage.get(`${this.id}/account.key`);
      if (!key) {
        key = await acme.crypto.createPrivateEcdsaKey('P-256');
        await this.storage.put(`${this.id}/account.key`, key);
      }
      const saved = await this.storage.get(`${this.id}/account.json`);
      const accountUrl = saved ? (JSON.parse(saved.toString()) as { url?: string }).url : undefined;
      const client = new acme.Client({
        directoryUrl: this.directoryUrl,
        accountKey: key,
        ...(accountUrl ? { accountUrl } : {}),
        ...(this.opts.eab ? { externalAccountBinding: this.opts.eab } : {}),
        // poll quickly: a CA validates in well under a second; edge's own backoff wraps failures
        backoffAttempts: 12,
        backoffMin: 250,
        backoffMax: 5000,
      });
      if (!accountUrl) {
        await client.createAccount({
          termsOfServiceAgreed: true,
          ...(this.opts.email ? { contact: [`mailto:${this.opts.email}`] } : {}),
        });
        await this.storage.put(`${this.id}/account.json`, JSON.stringify({ url: client.getAccountUrl(), email: this.opts.email }));
      }
      return client;
    } finally {
      await lock.release();
    }
  }
}

/** acme-client throws plain Errors and axios errors; keep the CA's words and its Retry-After. */
function toAcmeError(err: unknown): AcmeError {
  if (err instanceof AcmeError) return err;
  const e = err as { message?: string; response?: { headers?: Record<string, string>; data?: { detail?: string } } };
  const retryAfterMs = parseRetryAfter(e.response?.headers?.['retry-after'], new Date());
  return new AcmeError(e.response?.data?.detail ?? e.message ?? String(err), retryAfterMs);
}
