// What a DNS provider does for DNS-01: put a TXT record in place and take it away. The providers
// are rfc2136.ts (dynamic UPDATE with TSIG) and exec.ts (a user's script).

export interface DnsProvider {
  /** For log lines and errors: how records are published. */
  describe(): string;
  present(name: string, value: string): Promise<void>;
  cleanup(name: string, value: string): Promise<void>;
}
