// TSIG (RFC 8945): signing a DNS message with a shared key, and checking the server's signed
// answer. The MAC is an HMAC over the message and the "TSIG variables" (key name, algorithm,
// time, fudge, error, other data); the TSIG record carrying it goes last in the additional section.

import { createHmac, timingSafeEqual } from 'node:crypto';
import { dnsName } from './message.ts';

/** RFC 8945 algorithm names, by the name the config uses. */
export const TSIG_ALGORITHMS = {
  'hmac-sha256': 'sha256',
  'hmac-sha384': 'sha384',
  'hmac-sha512': 'sha512',
  'hmac-sha224': 'sha224',
  'hmac-sha1': 'sha1',
} as const;
export type TsigAlgorithm = keyof typeof TSIG_ALGORITHMS;

export interface TsigKey {
  name: string;
  algorithm: TsigAlgorithm;
  secret: Buffer;
}

/** TSIG error codes (RFC 8945 section 5.3). */
const TSIG_ERRORS: Record<number, string> = { 16: 'BADSIG', 17: 'BADKEY', 18: 'BADTIME', 22: 'BADTRUNC' };
const FUDGE = 300;
const CLASS_ANY = 255;
const TYPE_TSIG = 250;

function canonical(name: string): Buffer {
  return dnsName.encode(name.toLowerCase().replace(/\.$/, ''));
}

function uint16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
}

function time48(seconds: number): Buffer {
  const b = Buffer.alloc(6);
  b.writeUIntBE(seconds, 0, 6);
  return b;
}

/** The TSIG variables that follow the message in the MAC's input (section 4.3.3). */
function variables(key: TsigKey, signed: number, error: number, other: Buffer): Buffer {
  return Buffer.concat([canonical(key.name), uint16(CLASS_ANY), Buffer.alloc(4), canonical(key.algorithm),
    time48(signed), uint16(FUDGE), uint16(error), uint16(other.length), other]);
}

function hmac(key: TsigKey, ...parts: Buffer[]): Buffer {
  const h = createHmac(TSIG_ALGORITHMS[key.algorithm], key.secret);
  for (const p of parts) h.update(p);
  return h.digest();
}

/** `message` with its TSIG record appended (ARCOUNT raised by one), and the MAC, which checks the answer. */
export function sign(message: Buffer, key: TsigKey, now = Date.now()): { wire: Buffer; mac: Buffer } {
  const signed = Math.floor(now / 1000);
  const mac = hmac(key, message, variables(key, signed, 0, Buffer.alloc(0)));
  const rdata = Buffer.concat([canonical(key.algorithm), time48(signed), uint16(FUDGE), uint16(mac.length), mac,
    message.subarray(0, 2), uint16(0), uint16(0)]);
  const rr = Buffer.concat([canonical(key.name), uint16(TYPE_TSIG), uint16(CLASS_ANY), Buffer.alloc(4), uint16(rdata.length), rdata]);
  const wire = Buffer.concat([message, rr]);
  wire.writeUInt16BE(message.readUInt16BE(10) + 1, 10);
  return { wire, mac };
}

export interface TsigReading {
  /** The TSIG error the server set: BADSIG, BADKEY, BADTIME; undefined when none. */
  error?: string;
  /** Whether the answer's MAC is the one the key makes (false when unsigned or wrong). */
  verified: boolean;
}

/** Reads the TSIG record of an answer to a request signed with `requestMac`. */
export function readAnswer(answer: Buffer, tsig: { rdata: Buffer; start: number }, key: TsigKey, requestMac: Buffer): TsigReading {
  const r = tsig.rdata;
  dnsName.decode(r, 0);
  let o = dnsName.decode.bytes;
  const signed = r.readUIntBE(o, 6);
  o += 8;
  const macSize = r.readUInt16BE(o);
  const mac = r.subarray(o + 2, o + 2 + macSize);
  o += 2 + macSize;
  const originalId = r.readUInt16BE(o);
  const code = r.readUInt16BE(o + 2);
  const otherLength = r.readUInt16BE(o + 4);
  const other = r.subarray(o + 6, o + 6 + otherLength);
  const error = code === 0 ? undefined : (TSIG_ERRORS[code] ?? `TSIG error ${code}`);
  if (macSize === 0) return { error, verified: false };
  // the MAC covers the answer as it was before its TSIG record was added
  const unsigned = Buffer.from(answer.subarray(0, tsig.start));
  unsigned.writeUInt16BE(originalId, 0);
  unsigned.writeUInt16BE(unsigned.readUInt16BE(10) - 1, 10);
  const expected = hmac(key, uint16(requestMac.length), requestMac, unsigned, variables(key, signed, code, other));
  return { error, verified: expected.length === mac.length && timingSafeEqual(expected, mac) };
}
