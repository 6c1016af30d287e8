// The supervisor's ACME challenge answers: kept (for workers that start later) and relayed to
// every worker as the ACME client sets and removes them, since the CA's validation connection
// may reach any worker. The base class keeps them too (and, in a fleet, writes them to shared
// storage).

import { Challenges } from '../tls/challenges.ts';
import type { ToWorker } from './ipc.ts';

export class RelayChallenges extends Challenges {
  readonly tokens = new Map<string, string>();
  readonly alpnCerts = new Map<string, { certPem: string; keyPem: string }>();
  private readonly broadcast: (m: ToWorker) => void;

  constructor(broadcast: (m: ToWorker) => void) {
    super();
    this.broadcast = broadcast;
  }

  override async setHttp(token: string, keyAuthorization: string): Promise<void> {
    this.tokens.set(token, keyAuthorization);
    this.broadcast({ t: 'http01', token, keyAuthorization });
    await super.setHttp(token, keyAuthorization);
  }

  override async deleteHttp(token: string): Promise<void> {
    this.tokens.delete(token);
    this.broadcast({ t: 'http01', token });
    await super.deleteHttp(token);
  }

  override async setAlpn(name: string, cert: { certPem: string; keyPem: string }): Promise<void> {
    this.alpnCerts.set(name, cert);
    this.broadcast({ t: 'alpn', name, cert });
    await super.setAlpn(name, cert);
  }

  override async deleteAlpn(name: string): Promise<void> {
    this.alpnCerts.delete(name);
    this.broadcast({ t: 'alpn', name });
    await super.deleteAlpn(name);
  }
}

