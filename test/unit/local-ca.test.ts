// The local CA: one root per storage even under concurrent loads, leaves that node:crypto and a
// real TLS handshake accept, and which names go to it instead of a public CA.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import tls from 'node:tls';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import forge from 'node-forge';
import { LocalCA, LocalCAError } from '../../src/tls/local-ca.ts';
import { FsStorage } from '../../src/tls/storage/fs.ts';
import type { Lock, Storage } from '../../src/tls/storage/storage.ts';

const SERVER_AUTH = '1.3.6.1.5.5.7.3.1';
const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;

/** A Map-backed Storage whose lock is a real mutex: each holder waits for the previous one. */
function memoryStorage(): Storage & { data: Map<string, Buffer>; puts: string[] } {
  const data = new Map<string, Buffer>();
  const puts: string[] = [];
  const tails = new Map<string, Promise<void>>();
  return {
    description: 'memory',
    data,
    puts,
    async get(key) {
      return data.get(key);
    },
    async put(key, value) {
      puts.push(key);
      data.set(key, Buffer.from(value));
    },
    async delete(key) {
      data.delete(key);
    },
    async list(prefix) {
      return [...data.keys()].filter((k) => k.startsWith(prefix)).sort();
    },
    async lock(name): Promise<Lock> {
      const previous = tails.get(name) ?? Promise.resolve();
      let unlock!: () => void;
      const mine = new Promise<void>((resolve) => (unlock = resolve));
      tails.set(name, previous.then(() => mine));
      await previous;
      return { name, release: async () => unlock() };
    },
  };
}

/** Serves `cert` on 127.0.0.1, connects with `options`, and returns what the client saw. */
async function handshake(cert: { chainPem: string; keyPem: string }, options: tls.ConnectionOptions) {
  const server = tls.createServer({ cert: cert.chainPem, key: cert.keyPem }, (socket) => socket.end('hello over tls'));
  server.on('tlsClientError', () => {});
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  try {
    return await new Promise<{ authorized: boolean; received: string }>((resolve, reject) => {
      const socket = tls.connect({ host: '127.0.0.1', port, ...options });
      let received = '';
      let authorized = false;
      socket.on('secureConnect', () => (authorized = socket.authorized));
      socket.on('data', (chunk: Buffer) => (received += chunk.toString()));
      socket.on('end', () => resolve({ authorized, received }));
      socket.on('error', reject);
    });
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
}

describe('LocalCA root', () => {
  it('is created once and reused by later loads without writing again', async () => {
    const storage = memoryStorage();
    const first = await LocalCA.load(storage);
    assert.deepEqual(storage.puts, ['local/root.key', 'local/root.crt']);
    const second = await LocalCA.load(storage);
    assert.equal(second.rootPem, first.rootPem);
    assert.equal(storage.puts.length, 2);
    assert.equal(first.rootPath, 'local/root.crt');
    assert.equal(storage.data.get('local/root.crt')?.toString(), first.rootPem);
  });

  it('is created exactly once when loads race on a fresh storage', async () => {
    const storage = memoryStorage();
    const cas = await Promise.all(Array.from({ length: 5 }, () => LocalCA.load(storage)));
    assert.equal(new Set(cas.map((ca) => ca.rootPem)).size, 1);
    assert.equal(storage.puts.length, 2);
  });

  it('is a 10-year RSA-2048 CA limited to signing leaves', async () => {
    const now = new Date('2027-06-15T00:00:00Z');
    const ca = await LocalCA.load(memoryStorage(), { now: () => now });
    const root = new X509Certificate(ca.rootPem);
    assert.equal(root.ca, true);
    assert.equal(root.subject, 'CN=edge Local CA - 2027\nO=edge');
    assert.equal(root.issuer, root.subject);
    assert.equal(root.publicKey.asymmetricKeyDetails?.modulusLength, 2048);
    assert.equal(root.validFromDate.toISOString(), '2027-06-14T23:00:00.000Z');
    assert.equal(root.validToDate.toISOString(), '2037-06-15T00:00:00.000Z');
    assert.ok(root.verify(root.publicKey));
    assert.match(root.serialNumber, /^[0-7][0-9A-F]{31}$/);

    const parsed = forge.pki.certificateFromPem(ca.rootPem);
    assert.equal(parsed.siginfo.algorithmOid, forge.pki.oids.sha256WithRSAEncryption);
    const bc = parsed.getExtension('basicConstraints') as { critical: boolean; cA: boolean; pathLenConstraint: number };
    assert.deepEqual([bc.critical, bc.cA, bc.pathLenConstraint], [true, true, 0]);
    const ku = parsed.getExtension('keyUsage') as Record<string, boolean>;
    assert.deepEqual([ku.critical, ku.keyCertSign, ku.cRLSign, ku.digitalSignature], [true, true, true, false]);
    assert.ok(parsed.getExtension('subjectKeyIdentifier'));
  });

  it('is recreated after a crash left a key without a certificate', async () => {
    const storage = memoryStorage();
    storage.data.set('local/root.key', Buffer.from('half-written'));
    const ca = await LocalCA.load(storage);
    assert.equal(storage.data.get('local/root.crt')?.toString(), ca.rootPem);
  });

  it('root.crt on disk is 0644, a public certificate to copy to clients, and root.key 0600, under the unit\'s UMask=0077 too', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'edge-localca-mode-'));
    const before = process.umask(0o077);
    try {
      await LocalCA.load(new FsStorage(join(dir, 'certs')));
    } finally {
      process.umask(before);
    }
    assert.equal(statSync(join(dir, 'certs', 'local', 'root.crt')).mode & 0o777, 0o644);
    assert.equal(statSync(join(dir, 'certs', 'local', 'root.key')).mode & 0o777, 0o600);
  });

  it('refuses to replace a certificate whose key is missing', async () => {
    const storage = memoryStorage();
    await LocalCA.load(storage);
    storage.data.delete('local/root.key');
    await assert.rejects(LocalCA.load(storage), (err: LocalCAError) => err.code === 'ELOCALCA_NOKEY');
    assert.equal(storage.puts.length, 2);
  });
});

describe('LocalCA.issue', () => {
  it('issues a leaf for DNS names, wildcards and IPs that verifies against the root', async () => {
    const ca = await LocalCA.load(memoryStorage());
    const issued = await ca.issue(['localhost', '127.0.0.1', '::1', '*.app.test']);
    const root = new X509Certificate(ca.rootPem);
    const leaf = new X509Certificate(issued.certPem);
    assert.ok(leaf.verify(root.publicKey));
    assert.ok(leaf.checkIssued(root));
    assert.equal(leaf.ca, false);
    assert.equal(leaf.subject, 'CN=localhost');
    assert.equal(leaf.checkHost('localhost'), 'localhost');
    assert.equal(leaf.checkHost('x.app.test'), '*.app.test');
    assert.equal(leaf.checkHost('other.example'), undefined);
    assert.equal(leaf.checkIP('127.0.0.1'), '127.0.0.1');
    assert.equal(leaf.checkIP('::1'), '::1');
    assert.equal(leaf.checkIP('127.0.0.2'), undefined);
    assert.ok(leaf.checkPrivateKey(createPrivateKey(issued.keyPem)));
    assert.ok(leaf.keyUsage?.includes(SERVER_AUTH));
    assert.equal(issued.chainPem, issued.certPem);
    assert.notEqual(leaf.publicKey.export({ format: 'pem', type: 'spki' }), root.publicKey.export({ format: 'pem', type: 'spki' }));

    const parsed = forge.pki.certificateFromPem(issued.certPem);
    const ku = parsed.getExtension('keyUsage') as Record<string, boolean>;
    assert.deepEqual([ku.critical, ku.digitalSignature, ku.keyEncipherment, ku.keyCertSign], [true, true, true, false]);
    const aki = parsed.getExtension('authorityKeyIdentifier') as { value: string };
    const rootSki = forge.pki.certificateFromPem(ca.rootPem).getExtension('subjectKeyIdentifier') as { subjectKeyIdentifier: string };
    assert.ok(forge.util.bytesToHex(aki.value).endsWith(rootSki.subjectKeyIdentifier));
  });

  it('dates the leaf from the clock: 5 minutes back, 7 days ahead, or the lifetime asked for', async () => {
    const storage = memoryStorage();
    await LocalCA.load(storage);
    const now = new Date('2026-03-01T12:00:00Z');
    const ca = await LocalCA.load(storage, { now: () => now });
    const week = await ca.issue(['localhost']);
    const leaf = new X509Certificate(week.certPem);
    assert.equal(leaf.validFromDate.getTime(), now.getTime() - 5 * MINUTE);
    assert.equal(leaf.validToDate.getTime(), now.getTime() + 7 * DAY);
    assert.deepEqual([week.notBefore, week.notAfter], [leaf.validFromDate, leaf.validToDate]);
    const day = await ca.issue(['localhost'], { lifetimeMs: DAY });
    assert.equal(new X509Certificate(day.certPem).validToDate.getTime(), now.getTime() + DAY);
  });

  it('certifies IPv4-mapped IPv6 addresses and names too long for a CN', async () => {
    const ca = await LocalCA.load(memoryStorage());
    const long = `${'a'.repeat(60)}.test`;
    const leaf = new X509Certificate((await ca.issue([long, '::ffff:10.0.0.1'])).certPem);
    assert.equal(leaf.subject, undefined);
    assert.equal(leaf.checkHost(long), long);
    assert.equal(leaf.checkIP('::ffff:a00:1'), '::ffff:a00:1');
  });

  it('rejects an empty name list and IPv6 zones', async () => {
    const ca = await LocalCA.load(memoryStorage());
    const badName = (err: LocalCAError) => err instanceof LocalCAError && err.code === 'ELOCALCA_BADNAME';
    await assert.rejects(ca.issue([]), badName);
    await assert.rejects(ca.issue(['fe80::1%eth0']), badName);
  });
});

describe('LocalCA over a real TLS handshake', () => {
  it('is trusted by a client that trusts the root, by name and by IP', async () => {
    const ca = await LocalCA.load(memoryStorage());
    const issued = await ca.issue(['localhost', '127.0.0.1']);
    assert.deepEqual(await handshake(issued, { ca: ca.rootPem, servername: 'localhost' }), {
      authorized: true,
      received: 'hello over tls',
    });
    assert.deepEqual(await handshake(issued, { ca: ca.rootPem }), { authorized: true, received: 'hello over tls' });
  });

  it('is refused for a name the leaf does not cover', async () => {
    const ca = await LocalCA.load(memoryStorage());
    const issued = await ca.issue(['localhost']);
    await assert.rejects(handshake(issued, { ca: ca.rootPem, servername: 'other.test' }), { code: 'ERR_TLS_CERT_ALTNAME_INVALID' });
  });

  it('is refused by a client that trusts a different local root', async () => {
    const trusted = await LocalCA.load(memoryStorage());
    const other = await LocalCA.load(memoryStorage());
    const issued = await other.issue(['localhost']);
    await assert.rejects(handshake(issued, { ca: trusted.rootPem, servername: 'localhost' }), (err: NodeJS.ErrnoException) => {
      assert.match(String(err.code), /^(UNABLE_TO_VERIFY_LEAF_SIGNATURE|CERT_SIGNATURE_FAILURE|UNABLE_TO_GET_ISSUER_CERT_LOCALLY)$/);
      return true;
    });
  });
});
