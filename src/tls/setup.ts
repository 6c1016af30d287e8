// Certificate management for a config: the certificate manager (local CA, ACME, files) and
// on-demand TLS, wired to where certificates and challenge answers go. One per host: the
// one-process edge, or the supervisor of the workers.

import { readFileSync } from 'node:fs';
import type { Config } from '../config/schema.ts';
import { directoryUrl } from '../config/tls-schema.ts';
import type { Logger } from '../ops/log.ts';
import type { Challenges } from './challenges.ts';
import type { ServedCertificate } from './context.ts';
import { CertManager } from './manager.ts';
import { OnDemand } from './on-demand.ts';
import { certificatePlan, usesAcme } from './plan.ts';
import type { CertificateTable } from './sni.ts';
import { Fleet } from './fleet.ts';
import { openStorage } from './storage/open.ts';
import { RedisStorage } from './storage/redis.ts';

export interface CertificateSinks {
  logger: Logger;
  table: CertificateTable;
  challenges: Challenges;
  onInstall?: (cert: ServedCertificate) => void;
  onRemove?: (names: string[]) => void;
  /** Whether a tls: on_demand site of the current config serves the name. */
  coversOnDemand: (name: string) => boolean;
}

export interface Certificates {
  manager: CertManager;
  onDemand: OnDemand | undefined;
  /** A reload: certificates for the new config's names are requested, dropped names stop being served. */
  update(next: Config): Promise<void>;
  /** Stops renewals, and in a fleet the propagation and the Redis connection. */
  stop(): void;
}

/** For a config that uses TLS (usesTls); callers import this module only then. */
export async function createCertificates(config: Config, sinks: CertificateSinks): Promise<Certificates> {
  const storage = openStorage(config.storage);
  // in a fleet, challenge answers and new certificates are shared with the other instances
  const fleet = storage instanceof RedisStorage ? new Fleet(storage, sinks.challenges, sinks.logger) : undefined;
  const caRoot = config.acme.ca_root === undefined ? undefined : readFileSync(config.acme.ca_root, 'utf8');
  // acme-client (with axios) is the largest module edge has: only configs with ACME names load it
  const acme = usesAcme(config)
    ? new (await import('./acme.ts')).AcmeIssuer({
        directoryUrl: directoryUrl(config.acme.ca),
        caRoot,
        email: config.acme.email,
        eab: config.acme.eab && { kid: config.acme.eab.kid, hmacKey: config.acme.eab.hmac_key },
        profile: config.acme.profile,
        challenges: config.acme.challenges,
        dns: config.acme.dns,
      }, storage, sinks.challenges)
    : undefined;
  const manager = new CertManager({
    sources: certificatePlan(config.sites),
    storage,
    table: sinks.table,
    logger: sinks.logger,
    acme,
    acmeCaRoot: caRoot,
    preflight: config.acme.preflight,
    onInstall: sinks.onInstall,
    onRemove: sinks.onRemove,
    onStored: fleet && ((name) => fleet.announce(name)),
  });
  fleet?.attach(manager);
  const ask = config.acme.on_demand;
  const onDemand = ask && new OnDemand({
    ask: ask.ask,
    burst: ask.burst,
    intervalMs: ask.interval,
    covers: sinks.coversOnDemand,
    obtain: (name) => manager.addOnDemand(name),
  });
  const stop = () => {
    manager.stop();
    fleet?.stop();
    storage.close?.();
  };
  const update = async (next: Config) => {
    const { added, removed } = await manager.update(certificatePlan(next.sites), next.sites.some((s) => s.tls === 'on_demand'));
    if (added.length) sinks.logger.info(`reload: certificates for ${added.join(', ')} requested`);
    if (removed.length) sinks.logger.info(`reload: ${removed.join(', ')} no longer served`);
  };
  return { manager, onDemand, update, stop };
}
