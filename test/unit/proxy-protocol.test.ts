// PROXY header framing (parseProxyHeader): complete, incomplete, malformed; v1 and v2.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseProxyHeader } from '../../src/server/proxy-protocol.ts';

const SIG = [0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a];

describe('parseProxyHeader', () => {
  it('v1: the source and the header length, whatever follows', () => {
    const line = 'PROXY TCP4 198.51.100.4 10.0.0.1 5555 80\r\n';
    assert.deepEqual(parseProxyHeader(Buffer.from(`${line}GET / HTTP/1.1\r\n`)), { source: '198.51.100.4', length: line.length });
    const mapped = 'PROXY TCP6 ::ffff:198.51.100.4 ::1 1 2\r\n';
    assert.deepEqual(parseProxyHeader(Buffer.from(mapped)), { source: '198.51.100.4', length: mapped.length });
    assert.deepEqual(parseProxyHeader(Buffer.from('PROXY UNKNOWN\r\n')), { source: undefined, length: 15 });
  });
  it('v1: more to come, or too long, or not an address', () => {
    assert.equal(parseProxyHeader(Buffer.from('PROXY TCP4 198.51.')), 'more');
    assert.equal(parseProxyHeader(Buffer.from(`PROXY ${'x'.repeat(120)}`)), 'bad');
    assert.equal(parseProxyHeader(Buffer.from('PROXY TCP4 evil 10.0.0.1 1 2\r\n')), 'bad');
    assert.equal(parseProxyHeader(Buffer.from('GET / HTTP/1.1\r\n')), 'bad');
  });
  it('v2: PROXY over TCP4 and TCP6, LOCAL keeps the peer', () => {
    const v4 = Buffer.from([...SIG, 0x21, 0x11, 0, 12, 203, 0, 113, 9, 127, 0, 0, 1, 0x15, 0xb3, 0, 80, 0x47]);
    assert.deepEqual(parseProxyHeader(v4), { source: '203.0.113.9', length: 28 });
    const src6 = [0x20, 0x01, 0x0d, 0xb8, ...Array(11).fill(0), 7];
    const v6 = Buffer.from([...SIG, 0x21, 0x21, 0, 36, ...src6, ...Array(15).fill(0), 1, 0, 1, 0, 2]);
    assert.deepEqual(parseProxyHeader(v6), { source: '2001:db8::7', length: 52 });
    const local = Buffer.from([...SIG, 0x20, 0x00, 0, 0]);
    assert.deepEqual(parseProxyHeader(local), { source: undefined, length: 16 });
  });
  it('v2: partial signature or body is more to come; a wrong signature is bad', () => {
    assert.equal(parseProxyHeader(Buffer.from(SIG.slice(0, 5))), 'more');
    assert.equal(parseProxyHeader(Buffer.from([...SIG, 0x21, 0x11, 0, 12, 203])), 'more');
    assert.equal(parseProxyHeader(Buffer.from([0x0d, 0x0a, 0x0d, 0x0b])), 'bad');
  });
});
