// The rfc2136 DNS provider: TXT records added and deleted by dynamic UPDATE (RFC 2136) sent to
// the zone's primary, signed with a TSIG key. A refusal (NOTAUTH, REFUSED, a TSIG error) is an
// error naming the server and what it said.

import { randomInt } from 'node:crypto';
import { decode, soaQuery, updateMessage } from './message.ts';
import { readAnswer, sign, type TsigKey } from './tsig.ts';
import { DnsError, describeServer, exchange, type DnsServer } from './transport.ts';
import type { DnsProvider } from './provider.ts';

const TTL = 60;

/** What each refusal usually means, said to the user beside the code. */
const HINTS: Record<string, string> = {
  NOTAUTH: 'the server does not accept the key, or is not authoritative for the zone',
  REFUSED: 'the server refuses updates from this key or address (check its update ACL)',
  NOTZONE: 'the name is not in the zone',
  BADSIG: 'the key secret does not match the server\'s',
  BADKEY: 'the server does not know a key by this name and algorithm',
  BADTIME: 'this machine\'s clock and the server\'s differ by more than 5 minutes',
};

export class Rfc2136Provider implements DnsProvider {
  readonly server: DnsServer;
  readonly zone: string;
  private readonly key: TsigKey;

  constructor(opts: { server: DnsServer; zone: string; key: TsigKey }) {
    this.server = opts.server;
    this.zone = opts.zone.replace(/\.$/, '');
    this.key = opts.key;
  }

  describe(): string {
    return `rfc2136 update to ${describeServer(this.server)} (zone ${this.zone})`;
  }

  present(name: string, value: string): Promise<void> {
    return this.update(name, value, 'add');
  }

  cleanup(name: string, value: string): Promise<void> {
    return this.update(name, value, 'delete');
  }

  /**
   * Asks the server for the zone's SOA, signed with the key, changing nothing: a wrong key, or a
   * server that does not serve the zone, is found before the first order (edge check).
   */
  probe(timeoutMs: number): Promise<void> {
    return this.send((id) => soaQuery(id, this.zone), `the signed SOA query for ${this.zone}`, timeoutMs);
  }

  private update(name: string, value: string, op: 'add' | 'delete'): Promise<void> {
    return this.send((id) => updateMessage(id, this.zone, name, value, op, TTL), `${op === 'add' ? 'adding' : 'deleting'} TXT ${name}`);
  }

  private async send(message: (id: number) => Buffer, what: string, timeoutMs?: number): Promise<void> {
    const { wire, mac } = sign(message(randomInt(0, 0x10000)), this.key);
    const raw = await exchange(this.server, wire, (a) => decode(a).truncated, timeoutMs);
    const answer = decode(raw);
    const server = describeServer(this.server);
    const reading = answer.tsig && readAnswer(raw, answer.tsig, this.key, mac);
    if (reading?.error) throw refusal(server, what, `${answer.rcode}/${reading.error}`, reading.error);
    if (answer.rcode !== 'NOERROR') throw refusal(server, what, answer.rcode, answer.rcode);
    if (!reading?.verified) throw new DnsError('EUNSIGNED', `DNS server ${server}: ${what}: the answer is not signed with key ${this.key.name}, so it cannot be trusted`);
  }
}

/** The server answered no: an UPDATE is all or nothing, so nothing of it was applied. */
export class DnsRefusedError extends DnsError {
  constructor(server: string, what: string, said: string, code: string) {
    const hint = HINTS[code];
    super(code, `DNS server ${server} refused ${what}: ${said}${hint ? ` (${hint})` : ''}`);
    this.name = 'DnsRefusedError';
  }
}

function refusal(server: string, what: string, said: string, code: string): DnsError {
  return new DnsRefusedError(server, what, said, code);
}
