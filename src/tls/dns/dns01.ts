// The DNS-01 challenge (RFC 8555 section 8.4): the TXT record _acme-challenge.NAME published by
// the configured provider, awaited at every authoritative server of the zone, and removed after,
// whether the CA validated it or not.

import type { DnsConfig } from '../../config/tls-schema.ts';
import { ExecProvider } from './exec.ts';
import { authoritativeServers, findZone, waitForTxt } from './propagation.ts';
import type { DnsProvider } from './provider.ts';
import { DnsRefusedError, Rfc2136Provider } from './rfc2136.ts';
import { describeServer, parseServer, type DnsServer } from './transport.ts';

export class Dns01 {
  readonly provider: DnsProvider;
  private readonly config: DnsConfig;

  constructor(config: DnsConfig) {
    this.config = config;
    this.provider = config.provider === 'rfc2136'
      ? new Rfc2136Provider({
          server: parseServer(config.server),
          zone: config.zone,
          key: { name: config.key_name, algorithm: config.key_algorithm, secret: Buffer.from(config.key_secret, 'base64') },
        })
      : new ExecProvider({ command: config.command, timeoutMs: config.timeout });
  }

  /** "_acme-challenge.example.com" for example.com and for *.example.com alike. */
  static recordName(identifier: string): string {
    return `_acme-challenge.${identifier.replace(/^\*\./, '')}`;
  }

  /**
   * Publishes `value` for `identifier` and waits until the zone's servers answer it; resolves to
   * the cleanup, which the caller runs once the CA is done (it never throws: a failed cleanup is a
   * progress line).
   */
  async present(identifier: string, value: string, progress: (line: string) => void): Promise<() => Promise<void>> {
    const name = Dns01.recordName(identifier);
    const cleanup = async () => {
      await this.provider.cleanup(name, value).catch((err: Error) => progress(`could not remove TXT ${name} (${err.message}); remove it by hand`));
    };
    progress(`publishing TXT ${name} (${this.provider.describe()})`);
    try {
      await this.provider.present(name, value);
    } catch (err) {
      // a refused update changed nothing; anything else (a script, a lost answer) may have done half
      if (!(err instanceof DnsRefusedError)) await cleanup();
      throw err;
    }
    try {
      const servers = await this.servers(name, progress);
      await waitForTxt({ name, value, servers, timeoutMs: this.config.propagation_timeout, progress });
    } catch (err) {
      await cleanup();
      throw err;
    }
    return cleanup;
  }

  /** The servers the propagation check asks: the configured ones, else the zone's NS (and the rfc2136 primary). */
  private async servers(name: string, progress: (line: string) => void): Promise<DnsServer[]> {
    if (this.config.nameservers) return this.config.nameservers.map(parseServer);
    const primary = this.provider instanceof Rfc2136Provider ? [this.provider.server] : [];
    const zone = this.config.provider === 'rfc2136' ? this.config.zone : (this.config.zone ?? (await findZone(name)));
    const found = await authoritativeServers(zone).catch((err: Error) => {
      if (primary.length === 0) throw new Error(`cannot find the authoritative servers of ${zone} (${err.message}); set acme.dns.nameservers`);
      progress(`cannot find the NS servers of ${zone} (${err.message}); checking ${describeServer(primary[0]!)} only`);
      return [];
    });
    const all = [...primary, ...found];
    return all.filter((s, i) => all.findIndex((o) => o.host === s.host && o.port === s.port) === i);
  }
}
