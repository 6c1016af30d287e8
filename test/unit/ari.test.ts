// ARI: the RFC 9773 certificate identifier (the RFC's own vector and certificates built here with
// known AKIs and serials) and fetchRenewalInfo against real loopback servers, http and https.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { KeyObject, webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { AriError, certId, fetchRenewalInfo } from '../../src/tls/ari.ts';

// Node has no `self`, so @peculiar/x509 does not find WebCrypto on its own.
x509.cryptoProvider.set(webcrypto);

// RFC 9773 appendix A; section 4.1 derives "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE" from it.
const RFC_CERT = `-----BEGIN CERTIFICATE-----
MIIBQzCB66ADAgECAgUAh2VDITAKBggqhkjOPQQDAjAVMRMwEQYDVQQDEwpFeGFt
cGxlIENBMCIYDzAwMDEwMTAxMDAwMDAwWhgPMDAwMTAxMDEwMDAwMDBaMBYxFDAS
BgNVBAMTC2V4YW1wbGUuY29tMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEeBZu
7cbpAYNXZLbbh8rNIzuOoqOOtmxA1v7cRm//AwyMwWxyHz4zfwmBhcSrf47NUAFf
qzLQ2PPQxdTXREYEnKMjMCEwHwYDVR0jBBgwFoAUaYhba4dGQEHhs3uEe6CuLN4B
yNQwCgYIKoZIzj0EAwIDRwAwRAIge09+S5TZAlw5tgtiVvuERV6cT4mfutXIlwTb
+FYN/8oCIClDsqBklhB9KAelFiYt9+6FDj3z4KGVelYM5MdsO3pK
-----END CERTIFICATE-----
`;
const RFC_ID = 'aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE';

const EC = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };

async function keys(): Promise<webcrypto.CryptoKeyPair> {
  return (await webcrypto.subtle.generateKey(EC, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
}

/** A certificate with exactly the AKI (hex, or none) and serial (hex) asked for. */
async function makeCert(opts: {
  serial: string;
  akiHex?: string;
  issuer?: { name: string; keys: webcrypto.CryptoKeyPair };
  ca?: boolean;
  ip?: string;
}): Promise<{ pem: string; keys: webcrypto.CryptoKeyPair }> {
  const own = await keys();
  const extensions: x509.Extension[] = [];
  if (opts.akiHex) extensions.push(new x509.AuthorityKeyIdentifierExtension(opts.akiHex));
  if (opts.ca) extensions.push(new x509.BasicConstraintsExtension(true, undefined, true));
  if (opts.ip) extensions.push(new x509.SubjectAlternativeNameExtension([{ type: 'ip', value: opts.ip }]));
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: opts.serial,
    subject: opts.ca ? 'CN=Test CA' : 'CN=leaf.test',
    issuer: opts.issuer?.name ?? 'CN=Test CA',
    notBefore: new Date(Date.now() - 60_000),
    notAfter: new Date(Date.now() + 86_400_000),
    publicKey: own.publicKey,
    signingKey: (opts.issuer?.keys ?? own).privateKey,
    signingAlgorithm: EC,
    extensions,
  });
  return { pem: cert.toString('pem'), keys: own };
}

describe('certId', () => {
  it("gives RFC 9773's identifier for its example certificate", () => {
    assert.equal(certId(RFC_CERT), RFC_ID);
  });

  it('keeps the 0x00 before a serial whose top bit is set', async () => {
    const { pem } = await makeCert({ serial: '87654321', akiHex: '0102030405060708090a0b0c0d0e0f1011121314' });
    // 01..14 → "AQIDBAUGBwgJCgsMDQ4PEBESExQ"; 00 87 65 43 21 → "AIdlQyE" (computed by hand).
    assert.equal(certId(pem), 'AQIDBAUGBwgJCgsMDQ4PEBESExQ.AIdlQyE');
  });

  it('adds nothing to a serial whose top bit is clear, and uses the url-safe alphabet', async () => {
    const { pem } = await makeCert({ serial: '0102', akiHex: 'fbff'.repeat(10) });
    assert.equal(certId(pem), '-__7__v_-__7__v_-__7__v_-_8.AQI');
  });

  it("names the first certificate of a chain (the leaf's)", async () => {
    const { pem: caPem } = await makeCert({ serial: '05', akiHex: 'aa'.repeat(20), ca: true });
    assert.equal(certId(RFC_CERT + caPem), RFC_ID);
  });

  it('refuses a certificate without an Authority Key Identifier', async () => {
    const { pem } = await makeCert({ serial: '01' });
    assert.throws(() => certId(pem), (err: AriError) => err instanceof AriError && err.code === 'EARI_CERT');
  });

  it('refuses text that is not a certificate', () => {
    const pem = '-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n';
    assert.throws(() => certId(pem), (err: AriError) => err instanceof AriError && err.code === 'EARI_CERT');
  });
});

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

/** A renewalInfo stub: answers each certID path with the handler registered for it. */
async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function json(body: unknown, headers: Record<string, string> = {}): Handler {
  return (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json', ...headers });
    res.end(typeof body === 'string' ? body : JSON.stringify(body));
  };
}

const WINDOW = { start: '2026-03-10T00:00:00Z', end: '2026-03-12T00:00:00Z' };

describe('fetchRenewalInfo over http', () => {
  let handler: Handler = json({});
  const paths: string[] = [];
  const server = createServer((req, res) => {
    paths.push(req.url ?? '');
    handler(req, res);
  });
  let base = '';
  before(async () => { base = `http://${await listen(server)}/acme/renewal-info`; });
  after(() => { server.closeAllConnections(); server.close(); });

  async function failure(promise: Promise<unknown>): Promise<AriError> {
    const err = await promise.then(() => assert.fail('expected an AriError'), (e: unknown) => e);
    assert.ok(err instanceof AriError, String(err));
    return err;
  }

  it('reads the window, the explanation URL and Retry-After', async () => {
    handler = json({ suggestedWindow: WINDOW, explanationURL: 'https://ca.test/ari' }, { 'retry-after': '21600' });
    const info = await fetchRenewalInfo(base, RFC_CERT);
    assert.deepEqual(info, {
      window: { start: new Date(WINDOW.start), end: new Date(WINDOW.end) },
      explanationUrl: 'https://ca.test/ari',
      retryAfterMs: 21_600_000,
    });
    assert.equal(paths.at(-1), `/acme/renewal-info/${RFC_ID}`);
  });

  it('does not double the slash after a base URL ending in one', async () => {
    handler = json({ suggestedWindow: WINDOW });
    const info = await fetchRenewalInfo(`${base}/`, RFC_CERT);
    assert.equal(paths.at(-1), `/acme/renewal-info/${RFC_ID}`);
    assert.deepEqual(info, { window: { start: new Date(WINDOW.start), end: new Date(WINDOW.end) } });
  });

  it('reads an HTTP-date Retry-After relative to `now`', async () => {
    handler = json({ suggestedWindow: WINDOW }, { 'retry-after': 'Sun, 01 Mar 2026 18:00:00 GMT' });
    const info = await fetchRenewalInfo(base, RFC_CERT, { now: new Date('2026-03-01T12:00:00Z') });
    assert.equal(info.retryAfterMs, 6 * 3_600_000);
  });

  const invalid: Array<[string, unknown]> = [
    ['a body that is not JSON', '{"suggestedWindow": {'],
    ['a JSON array', [WINDOW]],
    ['no suggestedWindow', { explanationURL: 'https://ca.test/ari' }],
    ['a start after the end', { suggestedWindow: { start: WINDOW.end, end: WINDOW.start } }],
    ['a start equal to the end', { suggestedWindow: { start: WINDOW.start, end: WINDOW.start } }],
    ['a date that is not RFC 3339', { suggestedWindow: { start: 'tomorrow', end: WINDOW.end } }],
    ['a date that does not exist', { suggestedWindow: { start: '2026-02-30T00:00:00Z', end: WINDOW.end } }],
    ['a numeric end', { suggestedWindow: { start: WINDOW.start, end: 1773273600 } }],
    ['an explanationURL that is not a string', { suggestedWindow: WINDOW, explanationURL: 42 }],
  ];
  for (const [name, body] of invalid) {
    it(`refuses ${name}`, async () => {
      handler = json(body);
      const err = await failure(fetchRenewalInfo(base, RFC_CERT));
      assert.equal(err.code, 'EARI_RESPONSE');
      assert.match(err.message, /renewalInfo from http:\/\/127\.0\.0\.1/);
    });
  }

  it('reports a 404 with its status', async () => {
    handler = (_req, res) => { res.writeHead(404); res.end('not found'); };
    const err = await failure(fetchRenewalInfo(base, RFC_CERT));
    assert.equal(err.code, 'EARI_HTTP');
    assert.equal(err.status, 404);
  });

  it("passes on a 503's Retry-After", async () => {
    handler = (_req, res) => { res.writeHead(503, { 'retry-after': '120' }); res.end(); };
    const err = await failure(fetchRenewalInfo(base, RFC_CERT));
    assert.equal(err.code, 'EARI_HTTP');
    assert.equal(err.status, 503);
    assert.equal(err.retryAfterMs, 120_000);
  });

  it('gives up on a server that never answers', async () => {
    handler = () => {};
    const err = await failure(fetchRenewalInfo(base, RFC_CERT, { timeoutMs: 200 }));
    assert.equal(err.code, 'EARI_TIMEOUT');
  });

  it('gives up on a server that sends headers and then stalls', async () => {
    handler = (_req, res) => { res.writeHead(200, { 'content-type': 'application/json' }); res.write('{"sugg'); };
    const err = await failure(fetchRenewalInfo(base, RFC_CERT, { timeoutMs: 200 }));
    assert.equal(err.code, 'EARI_TIMEOUT');
  });

  it('reports a refused connection as a network error', async () => {
    const closed = createServer();
    const address = await listen(closed);
    await new Promise((resolve) => closed.close(resolve));
    const err = await failure(fetchRenewalInfo(`http://${address}/ari`, RFC_CERT));
    assert.equal(err.code, 'EARI_NETWORK');
  });

  it('refuses a URL that is not http or https', async () => {
    const err = await failure(fetchRenewalInfo('ftp://ca.test/ari', RFC_CERT));
    assert.equal(err.code, 'EARI_URL');
  });
});

describe('fetchRenewalInfo over https with a private CA', () => {
  let server: ReturnType<typeof createHttpsServer>;
  let caPem = '';
  let base = '';
  before(async () => {
    const ca = await makeCert({ serial: '01', ca: true });
    caPem = ca.pem;
    const leaf = await makeCert({ serial: '02', issuer: { name: 'CN=Test CA', keys: ca.keys }, ip: '127.0.0.1' });
    const key = KeyObject.from(leaf.keys.privateKey).export({ type: 'pkcs8', format: 'pem' });
    server = createHttpsServer({ key, cert: leaf.pem }, json({ suggestedWindow: WINDOW }, { 'retry-after': '60' }));
    base = `https://${await listen(server as unknown as Server)}/acme/renewal-info/`;
  });
  after(() => { server.closeAllConnections(); server.close(); });

  it('trusts the CA passed as `ca`', async () => {
    const info = await fetchRenewalInfo(base, RFC_CERT, { ca: caPem });
    assert.deepEqual(info, { window: { start: new Date(WINDOW.start), end: new Date(WINDOW.end) }, retryAfterMs: 60_000 });
  });

  it('does not trust it without `ca`', async () => {
    const err = await fetchRenewalInfo(base, RFC_CERT).then(() => undefined, (e: unknown) => e);
    assert.ok(err instanceof AriError && err.code === 'EARI_NETWORK', String(err));
  });
});
