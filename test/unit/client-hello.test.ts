// offeredAlpn against real ClientHellos captured from tls.connect, their truncations, other TLS records, plain HTTP and fuzzed bytes.

import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createConnection, createServer } from 'node:net';
import { connect as tlsConnect, createServer as createTlsServer, type ConnectionOptions } from 'node:tls';
import { offeredAlpn } from '../../src/tls/client-hello.ts';

const HANDSHAKE = 22;
const CLIENT_HELLO = 1;

/** The first chunk a real TLS client sends to a plain TCP server on 127.0.0.1, which then hangs up. */
async function captureClientHello(options: ConnectionOptions): Promise<Buffer> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  try {
    const first = new Promise<Buffer>((resolve) => {
      server.once('connection', (socket) => socket.once('data', (chunk: Buffer) => {
        socket.destroy();
        resolve(chunk);
      }));
    });
    const client = tlsConnect({ host: '127.0.0.1', port, ...options });
    client.on('error', () => {}); // the server hangs up mid-handshake on purpose
    return await first;
  } finally {
    server.close();
  }
}

/** What a real TLS server answers to `hello`: its first chunk (ServerHello, in a handshake record). */
async function captureServerAnswer(hello: Buffer): Promise<Buffer> {
  const dir = mkdtempSync(join(tmpdir(), 'edge-hello-'));
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-subj', '/CN=localhost',
    '-days', '1', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'ignore' });
  const server = createTlsServer({ cert: readFileSync(join(dir, 'cert.pem')), key: readFileSync(join(dir, 'key.pem')) });
  rmSync(dir, { recursive: true, force: true });
  server.on('tlsClientError', () => {});
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  try {
    return await new Promise<Buffer>((resolve, reject) => {
      const socket = createConnection({ host: '127.0.0.1', port }, () => socket.write(hello));
      socket.once('data', (chunk: Buffer) => {
        socket.destroy();
        resolve(chunk);
      });
      socket.on('error', reject);
    });
  } finally {
    server.close();
  }
}

interface Captured {
  label: string;
  offered: string[];
  hello: Buffer;
}

const CASES: { label: string; offered: string[]; options: ConnectionOptions }[] = [
  { label: 'h2 + http/1.1, with SNI', offered: ['h2', 'http/1.1'], options: { ALPNProtocols: ['h2', 'http/1.1'], servername: 'localhost' } },
  { label: 'h2 + http/1.1, no SNI', offered: ['h2', 'http/1.1'], options: { ALPNProtocols: ['h2', 'http/1.1'] } },
  { label: 'acme-tls/1, with SNI', offered: ['acme-tls/1'], options: { ALPNProtocols: ['acme-tls/1'], servername: 'www.example.com' } },
  { label: 'acme-tls/1, no SNI', offered: ['acme-tls/1'], options: { ALPNProtocols: ['acme-tls/1'] } },
  { label: 'no ALPN, with SNI', offered: [], options: { servername: 'localhost' } },
  { label: 'no ALPN, no SNI', offered: [], options: {} },
  { label: 'TLS 1.2 only, acme-tls/1 + http/1.1', offered: ['acme-tls/1', 'http/1.1'], options: { ALPNProtocols: ['acme-tls/1', 'http/1.1'], maxVersion: 'TLSv1.2', servername: 'a.test' } },
  {
    label: 'long SNI and a long ALPN list ending in acme-tls/1',
    offered: ['x'.repeat(200), 'spdy/3', 'acme-tls/1'],
    options: { ALPNProtocols: ['x'.repeat(200), 'spdy/3', 'acme-tls/1'], servername: `${'a'.repeat(60)}.${'b'.repeat(60)}.example.com` },
  },
];

describe('offeredAlpn on real ClientHellos from tls.connect', () => {
  const captured: Captured[] = [];
  before(async () => {
    for (const c of CASES) captured.push({ label: c.label, offered: c.offered, hello: await captureClientHello(c.options) });
  });

  it('captures whole ClientHellos: a handshake record holding message type 1, complete in one chunk', () => {
    assert.equal(captured.length, CASES.length);
    for (const { label, hello } of captured) {
      assert.equal(hello[0], HANDSHAKE, label);
      assert.equal(hello[5], CLIENT_HELLO, label);
      assert.equal(hello.length, 5 + hello.readUInt16BE(3), `${label}: one complete record`);
    }
  });

  for (const [i, c] of CASES.entries()) {
    it(`reads exactly the offered list: ${c.label}`, () => {
      const { hello, offered } = captured[i]!;
      assert.deepEqual(offeredAlpn(hello), offered);
      assert.equal(offeredAlpn(hello)!.includes('acme-tls/1'), offered.includes('acme-tls/1'));
    });
  }

  it('ignores bytes after the first record (more data in the same chunk)', () => {
    for (const { label, hello, offered } of captured) {
      const trailing = Buffer.concat([hello, Buffer.from([23, 3, 3, 0, 4, 1, 2, 3, 4]), randomBytes(64)]);
      assert.deepEqual(offeredAlpn(trailing), offered, label);
    }
  });

  it('a ClientHello cut anywhere before its record ends gives undefined, so the listener waits for more bytes', () => {
    for (const { label, hello } of captured) {
      for (let n = 0; n < hello.length; n++) {
        let got: string[] | undefined;
        assert.doesNotThrow(() => (got = offeredAlpn(hello.subarray(0, n))), `${label}, first ${n} bytes`);
        assert.equal(got, undefined, `${label}, first ${n} of ${hello.length} bytes: ${JSON.stringify(got)}`);
      }
    }
  });

  it('a ClientHello offering only "acme-tls/10", cut inside that name, is never taken for acme-tls/1', async () => {
    const hello = await captureClientHello({ ALPNProtocols: ['acme-tls/10'] });
    assert.deepEqual(offeredAlpn(hello), ['acme-tls/10']);
    for (let n = 0; n <= hello.length; n++) {
      assert.ok(!offeredAlpn(hello.subarray(0, n))?.includes('acme-tls/1'), `first ${n} of ${hello.length} bytes read as offering acme-tls/1`);
    }
  });

  it('a TLS record that is not a ClientHello gives undefined: a real ServerHello, an alert, application data', async () => {
    const serverHello = await captureServerAnswer(captured[0]!.hello);
    assert.equal(serverHello[0], HANDSHAKE, 'the server answers with a handshake record');
    assert.equal(serverHello[5], 2, 'holding a ServerHello');
    assert.equal(offeredAlpn(serverHello), undefined);
    assert.equal(offeredAlpn(Buffer.from([21, 3, 3, 0, 2, 2, 40])), undefined); // fatal handshake_failure alert
    const appData = Buffer.concat([Buffer.from([23, 3, 3, 0, 100]), randomBytes(100)]);
    assert.equal(offeredAlpn(appData), undefined);
    // the real ClientHello, relabelled as another record type or another handshake message
    for (const [offset, value] of [[0, 23], [0, 21], [0, 20], [5, 2], [5, 11], [5, 0]] as const) {
      const relabelled = Buffer.from(captured[0]!.hello);
      relabelled[offset] = value;
      assert.equal(offeredAlpn(relabelled), undefined, `byte ${offset} = ${value}`);
    }
  });

  it('bytes that are not TLS give undefined: plain HTTP, SSLv2-style hello, empty and tiny buffers', () => {
    assert.equal(offeredAlpn(Buffer.from('GET / HTTP/1.1\r\nHost: localhost\r\n\r\n')), undefined);
    assert.equal(offeredAlpn(Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n')), undefined);
    assert.equal(offeredAlpn(Buffer.from([0x80, 0x2e, 0x01, 0x03, 0x01, 0x00, 0x15])), undefined);
    assert.equal(offeredAlpn(Buffer.alloc(0)), undefined);
    for (let n = 1; n < 6; n++) assert.equal(offeredAlpn(Buffer.from([22, 3, 1, 0, 0, 1].slice(0, n))), undefined, `${n} bytes`);
  });

  it('fuzz: thousands of random and mutated buffers never throw and give undefined or a list of strings', () => {
    const check = (buf: Buffer, what: string) => {
      let got: unknown;
      try {
        got = offeredAlpn(buf);
      } catch (err) {
        assert.fail(`${what} threw ${(err as Error).stack}\ninput: ${buf.toString('hex')}`);
      }
      assert.ok(got === undefined || (Array.isArray(got) && got.every((s) => typeof s === 'string')), `${what}: ${String(got)}`);
    };
    const rand = (n: number) => Math.floor(Math.random() * n);
    // pure noise
    for (let i = 0; i < 2000; i++) check(randomBytes(rand(2048)), 'random bytes');
    // noise that passes the first checks: a handshake record holding a ClientHello, lengths arbitrary
    for (let i = 0; i < 2000; i++) {
      const buf = randomBytes(5 + rand(600));
      buf[0] = HANDSHAKE;
      if (buf.length > 5) buf[5] = CLIENT_HELLO;
      check(buf, 'random ClientHello-shaped bytes');
    }
    // real hellos with bytes flipped, lengths forced to extremes, cut, or with pieces spliced out
    for (let i = 0; i < 4000; i++) {
      const { hello } = captured[i % captured.length]!;
      const buf = Buffer.from(hello);
      const mutation = i % 4;
      if (mutation === 0) {
        for (let k = 0, flips = 1 + rand(8); k < flips; k++) buf[rand(buf.length)] = rand(256);
      } else if (mutation === 1) {
        const at = 3 + rand(buf.length - 4);
        buf.writeUInt16BE(rand(2) === 0 ? 0xffff : 0, at);
      } else if (mutation === 2) {
        buf[rand(buf.length)] = 0xff;
        check(buf.subarray(0, rand(buf.length)), 'mutated and cut ClientHello');
        continue;
      } else {
        const from = 5 + rand(buf.length - 5);
        const to = from + rand(buf.length - from);
        check(Buffer.concat([buf.subarray(0, from), buf.subarray(to)]), 'ClientHello with a piece cut out');
        continue;
      }
      check(buf, 'mutated ClientHello');
    }
  });
});

describe('offeredAlpn on a hand-built ClientHello', () => {
  /** A minimal ClientHello record with the given extensions (type, body). */
  function hello(extensions: [number, Buffer][]): Buffer {
    const ext = Buffer.concat(extensions.map(([type, body]) => {
      const head = Buffer.alloc(4);
      head.writeUInt16BE(type, 0);
      head.writeUInt16BE(body.length, 2);
      return Buffer.concat([head, body]);
    }));
    const extLen = Buffer.alloc(2);
    extLen.writeUInt16BE(ext.length);
    const body = Buffer.concat([
      Buffer.from([3, 3]), Buffer.alloc(32, 7), Buffer.from([0]), // version, random, empty session id
      Buffer.from([0, 2, 0x13, 0x01]), Buffer.from([1, 0]), // one suite, null compression
      extLen, ext,
    ]);
    const hs = Buffer.concat([Buffer.from([CLIENT_HELLO, 0, body.length >> 8, body.length & 0xff]), body]);
    return Buffer.concat([Buffer.from([HANDSHAKE, 3, 1, hs.length >> 8, hs.length & 0xff]), hs]);
  }
  function alpn(names: string[]): Buffer {
    const list = Buffer.concat(names.map((n) => Buffer.concat([Buffer.from([n.length]), Buffer.from(n, 'latin1')])));
    return Buffer.concat([Buffer.from([list.length >> 8, list.length & 0xff]), list]);
  }
  it('finds ALPN after other extensions, and [] when there is none', () => {
    assert.deepEqual(offeredAlpn(hello([[0, Buffer.alloc(9)], [10, Buffer.alloc(300, 1)], [16, alpn(['acme-tls/1'])]])), ['acme-tls/1']);
    assert.deepEqual(offeredAlpn(hello([[0, Buffer.alloc(9)]])), []);
    assert.deepEqual(offeredAlpn(hello([])), []);
  });

  it('an ALPN list whose length overruns the extension is read only up to the extension', () => {
    const body = alpn(['h2', 'acme-tls/1']);
    body.writeUInt16BE(0xffff, 0);
    const got = offeredAlpn(hello([[16, body], [0, Buffer.alloc(4)]]));
    assert.deepEqual(got, ['h2', 'acme-tls/1']);
  });

  it('a name whose length byte overruns the ALPN list is dropped, never read from the bytes after it', () => {
    const body = alpn(['h2', 'acme-tls/1']);
    body[2 + 3] = 11; // "acme-tls/1" claims 11 bytes: the list ends after 10
    assert.deepEqual(offeredAlpn(hello([[16, body], [0x6d6d, Buffer.from('0')]])), ['h2']);
    const cut = alpn(['h2', 'acme-tls/1']);
    cut.writeUInt16BE(cut.length - 2 - 1, 0); // the list length stops one byte short of the last name
    assert.deepEqual(offeredAlpn(hello([[16, cut]])), ['h2']);
  });
});
