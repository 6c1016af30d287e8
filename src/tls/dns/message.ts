// DNS messages edge sends: a dynamic UPDATE (RFC 2136) adding or deleting one TXT record, a plain
// TXT query for the propagation check, and an SOA query to check a TSIG key. dns-packet does the
// wire format; what it lacks is class NONE (254), the class of "delete this one record", which is
// written over its encoding.

import packet from 'dns-packet';

interface Codec<T> {
  encode(value: T): Buffer;
  encodingLength(value: T): number;
}
/** The parts of dns-packet its type definitions leave out. */
const wire = packet as unknown as {
  answer: Codec<packet.Answer>;
  question: { encode(q: packet.Question, buf: Buffer): unknown; encodingLength(q: packet.Question): number };
  name: Codec<string> & { decode: ((buf: Buffer, offset: number) => string) & { bytes: number } };
};
export const dnsName = wire.name;

const OPCODE_UPDATE = 5 << 11;
const CLASS_NONE = 254;

/** A resource record in wire form; `klass` overrides the class dns-packet wrote. */
function record(rr: packet.Answer, klass?: number): Buffer {
  const buf = wire.answer.encode(rr);
  if (klass !== undefined) buf.writeUInt16BE(klass, wire.name.encodingLength(rr.name) + 2);
  return buf;
}

function header(id: number, flags: number, counts: [number, number, number, number]): Buffer {
  const buf = Buffer.alloc(12);
  buf.writeUInt16BE(id, 0);
  buf.writeUInt16BE(flags, 2);
  counts.forEach((n, i) => buf.writeUInt16BE(n, 4 + 2 * i));
  return buf;
}

/**
 * An UPDATE for `zone` adding (`add`) or deleting the TXT record `name` = `value`. Deleting names
 * the one value (class NONE), so the other records of the name (another challenge of the same
 * order, for *.example.com beside example.com) stay.
 */
export function updateMessage(id: number, zone: string, name: string, value: string, op: 'add' | 'delete', ttl: number): Buffer {
  const soa: packet.Question = { name: zone, type: 'SOA', class: 'IN' };
  const zoneQuestion = Buffer.alloc(wire.question.encodingLength(soa));
  wire.question.encode(soa, zoneQuestion);
  const txt = op === 'add'
    ? record({ name, type: 'TXT', class: 'IN', ttl, data: value })
    : record({ name, type: 'TXT', class: 'IN', ttl: 0, data: value }, CLASS_NONE);
  return Buffer.concat([header(id, OPCODE_UPDATE, [1, 0, 1, 0]), zoneQuestion, txt]);
}

/** An SOA query for the zone, without recursion. */
export function soaQuery(id: number, zone: string): Buffer {
  return packet.encode({ type: 'query', id, flags: 0, questions: [{ name: zone, type: 'SOA', class: 'IN' }] });
}

/** A TXT query without recursion: asked of an authoritative server directly. */
export function txtQuery(id: number, name: string): Buffer {
  return packet.encode({ type: 'query', id, flags: 0, questions: [{ name, type: 'TXT', class: 'IN' }] });
}

const RCODES = ['NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN', 'NOTIMP', 'REFUSED', 'YXDOMAIN', 'YXRRSET', 'NXRRSET', 'NOTAUTH', 'NOTZONE'];

export interface Decoded {
  id: number;
  rcode: string;
  truncated: boolean;
  txt: string[];
  /** The TSIG record's RDATA and where the record starts in the message, if the answer is signed. */
  tsig?: { rdata: Buffer; start: number };
}

export function decode(buf: Buffer): Decoded {
  const msg = packet.decode(buf);
  const txt = (msg.answers ?? []).filter((a) => a.type === 'TXT')
    .map((a) => ([] as (string | Buffer)[]).concat(a.data as string | Buffer | (string | Buffer)[]).map(String).join(''));
  const last = msg.additionals?.at(-1);
  let tsig: Decoded['tsig'];
  if (last && last.type === 'TSIG') {
    const rdata = (last as unknown as { data: Buffer }).data;
    tsig = { rdata, start: buf.length - (wire.name.encodingLength(last.name) + 10 + rdata.length) };
  }
  return { id: msg.id ?? 0, rcode: RCODES[buf.readUInt16BE(2) & 0xf] ?? `RCODE ${buf.readUInt16BE(2) & 0xf}`, truncated: msg.flag_tc, txt, tsig };
}
