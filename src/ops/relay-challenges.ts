// The supervisor's ACME challenge answers: kept (for workers that start later) and relayed to
// every worker as the ACME client sets and removes them, since the CA's validation connection
// may reach any worker.

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

  override setHttp(token: string, keyAuthorization: string): void {
    this.tokens.set(token, keyAuthorization);
    this.broadcast({ t: 'http01', token, keyAuthorization });
  }

  override deleteHttp(token: string): void {
    this.tokens.delete(token);
    this.broadcast({ t: 'http01', token });
  }

  override setAlpn(name: string, cert: { certPem: string; keyPem: string }): void {
    this.alpnCerts.set(name, cert);
    this.broadcast({ t: 'alpn', name, cert });
  }

  override deleteAlpn(name: string): void {
    this.alpnCerts.delete(name);
    this.broadcast({ t: 'alpn', name });
  }
}

