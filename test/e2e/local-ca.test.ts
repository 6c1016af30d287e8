// The local CA end to end: localhost and IP certificates over HTTP/2 and HTTP/1.1, root kept across restarts, private files, unknown names, tls: internal and cert files.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { connect as h2connect } from 'node:http2';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { request } from 'node:https';
import { createConnection, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect, type PeerCertificate, type TLSSocket } from 'node:tls';
import { freePort, startEdge, waitFor, type EdgeProcess, logMessages } from '../helpers/edge.ts';
import { startUpstream, type Upstream } from '../helpers/upstream.ts';
import { writeConfig } from '../helpers/config.ts';
import { fetchRaw } from '../helpers/http.ts';
import { h2Get, httpsGet, servedSerial } from '../helpers/tls-client.ts';
import { LocalCA } from '../../src/tls/local-ca.ts';
import { FsStorage } from '../../src/tls/storage/fs.ts';

interface Ports { http: number; https: number }

const freshStorage = () => join(mkdtempSync(join(tmpdir(), 'edge-localca-')), 'certs'); // edge creates the folder itself
const ports = async (): Promise<Ports> => ({ http: await freePort(), https: await freePort() });
const issued = (edge: EdgeProcess, name: string) => logMessages(edge.stderr()).includes(`certificate ${name}: issued by edge Local CA`);

async function startLocal(domains: string[], p: Ports, up: Upstream, storage: string): Promise<EdgeProcess> {
  const args = [...domains.flatMap((d) => ['--domain', d]), '--http-port', String(p.http), '--https-port', String(p.https),
    '--bind', '127.0.0.1', '--to', up.address, '--storage', storage, '--access-log', 'off'];
  return startEdge(args, { port: p.http });
}

// Requests to https://127.0.0.1 with no server name (Node sends no SNI for an IP host), verified against `ca`.
function h1ByIp(port: number, path: string, ca: string): Promise<{ status: number; text: string; cert: PeerCertificate }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, ca, agent: false }, (res) => {
      let text = '';
      res.on('data', (d) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode!, text, cert: (res.socket as TLSSocket).getPeerCertificate() }));
    });
    req.on('error', reject).end();
  });
}

function h2ByIp(port: number, path: string, ca: string): Promise<{ alpn: string; text: string }> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: '127.0.0.1', port, ca, ALPNProtocols: ['h2'] });
    const session = h2connect(`https://127.0.0.1:${port}`, { createConnection: () => socket }).on('error', reject);
    const stream = session.request({ ':path': path }).on('error', reject);
    let text = '';
    stream.on('data', (d) => (text += d));
    stream.on('end', () => {
      resolve({ alpn: socket.alpnProtocol || '', text });
      session.close();
    });
  });
}

/**
 * Handshakes through a relay that records every byte edge sends, TLS 1.2 so a Certificate message
 * would travel in the clear. Resolves with the handshake's error (or undefined) and edge's bytes.
 */
async function recordedHandshake(port: number, servername?: string): Promise<{ error?: Error; cert?: PeerCertificate; fromEdge: Buffer }> {
  const chunks: Buffer[] = [];
  const relay: Server = createServer((client) => {
    const upstream = createConnection({ host: '127.0.0.1', port }).on('error', () => client.destroy());
    client.on('error', () => upstream.destroy()).pipe(upstream);
    upstream.on('data', (d: Buffer) => client.write(chunks[chunks.push(d) - 1])).on('end', () => client.end());
  });
  await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve));
  try {
    const outcome = await new Promise<{ error?: Error; cert?: PeerCertificate }>((resolve) => {
      const socket = tlsConnect({ host: '127.0.0.1', port: (relay.address() as { port: number }).port, maxVersion: 'TLSv1.2', rejectUnauthorized: false, servername });
      socket.once('error', (error) => resolve({ error, cert: socket.getPeerCertificate() }));
      socket.once('secureConnect', () => {
        resolve({ cert: socket.getPeerCertificate() });
        socket.destroy();
      });
    });
    return { ...outcome, fromEdge: Buffer.concat(chunks) };
  } finally {
    relay.close();
  }
}

/** Content types of the TLS records in `bytes` (22 handshake, 21 alert, ...). */
function recordTypes(bytes: Buffer): number[] {
  const types: number[] = [];
  for (let at = 0; at + 5 <= bytes.length; at += 5 + bytes.readUInt16BE(at + 3)) types.push(bytes[at]!);
  return types;
}

async function assertRefused(port: number, servername?: string): Promise<void> {
  const { error, cert, fromEdge } = await recordedHandshake(port, servername);
  assert.ok(error, 'the handshake fails');
  assert.ok(cert === undefined || cert === null || Object.keys(cert).length === 0, `no certificate reached the client: ${JSON.stringify(cert?.subject)}`);
  // edge hangs up, with an alert or (SNICallback error: Node closes silently) without one; either
  // way no handshake record, so no ServerHello and no Certificate, ever leaves it
  const types = recordTypes(fromEdge);
  assert.ok(types.every((t) => t === 21), `edge sent only alerts, got record types ${JSON.stringify(types)}: ${fromEdge.subarray(0, 64).toString('hex')}`);
}

function walk(dir: string, out: { path: string; mode: number; dir: boolean }[] = []): typeof out {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    const st = statSync(path);
    out.push({ path, mode: st.mode & 0o777, dir: st.isDirectory() });
    if (st.isDirectory()) walk(path, out);
  }
  return out;
}

const app = (req: IncomingMessage, res: ServerResponse) => res.end(`app: ${req.url} via ${req.headers['x-forwarded-proto']} for ${req.headers.host}`);

describe('--domain localhost --domain 127.0.0.1 on the local CA', () => {
  let up: Upstream;
  let edge: EdgeProcess;
  let root: string;
  let p: Ports;
  const storage = freshStorage();
  before(async () => {
    p = await ports();
    up = await startUpstream(app);
    edge = await startLocal(['localhost', '127.0.0.1'], p, up, storage);
    await waitFor(() => issued(edge, 'localhost') && issued(edge, '127.0.0.1'), 'certificates localhost and 127.0.0.1 issued', 15_000);
    root = readFileSync(join(storage, 'local', 'root.crt'), 'utf8');
  });
  after(async () => {
    await edge?.stop();
    await up?.close();
  });

  it('stores a CA root and issues leaves from it', () => {
    const ca = new X509Certificate(root);
    assert.ok(ca.ca, 'root.crt is a CA certificate');
    assert.match(ca.subject, /edge Local CA/);
    for (const name of ['localhost', '127.0.0.1']) {
      const leaf = new X509Certificate(readFileSync(join(storage, 'local', name, 'pair.pem')));
      assert.ok(leaf.verify(ca.publicKey), `${name} is signed by the root`);
      assert.ok(leaf.checkIssued(ca));
      assert.ok(name === 'localhost' ? leaf.checkHost(name) : leaf.checkIP(name), `${name} is in the SAN`);
    }
  });

  it('serves localhost over HTTP/2 and HTTP/1.1, verified against the root, reaching the upstream', async () => {
    const h2 = await h2Get(p.https, 'localhost', '/h2?x=1', root);
    assert.equal(h2.alpn, 'h2');
    assert.equal(h2.status, 200);
    assert.match(h2.text, /^app: \/h2\?x=1 via https for localhost/);
    const h1 = await httpsGet(p.https, 'localhost', '/h1', root);
    assert.equal(h1.status, 200);
    assert.match(h1.text, /^app: \/h1 via https for localhost/);
  });

  it('serves a client connecting by IP without SNI the IP certificate, which verifies, over HTTP/1.1 and HTTP/2', async () => {
    const h1 = await h1ByIp(p.https, '/by-ip', root);
    assert.equal(h1.status, 200);
    assert.match(h1.text, /^app: \/by-ip via https for 127\.0\.0\.1/);
    assert.match(h1.cert.subjectaltname ?? '', /IP Address:127\.0\.0\.1/);
    assert.equal(h1.cert.serialNumber, new X509Certificate(readFileSync(join(storage, 'local', '127.0.0.1', 'pair.pem'))).serialNumber);
    const h2 = await h2ByIp(p.https, '/by-ip-h2', root);
    assert.equal(h2.alpn, 'h2');
    assert.match(h2.text, /^app: \/by-ip-h2 via https/);
  });

  it('keeps every key and certificate file 0600 and every folder 0700, but the public root.crt 0644', () => {
    const entries = [{ path: storage, mode: statSync(storage).mode & 0o777, dir: true }, ...walk(storage)];
    const files = entries.filter((e) => !e.dir).map((e) => e.path.slice(storage.length + 1));
    for (const must of ['local/root.key', 'local/root.crt', 'local/localhost/pair.pem', 'local/127.0.0.1/pair.pem']) {
      assert.ok(files.includes(must), `${must} is stored (files: ${files.join(', ')})`);
    }
    for (const e of entries) {
      const text = e.dir ? '' : readFileSync(e.path, 'utf8');
      if (e.dir) assert.equal(e.mode.toString(8), '700', `folder ${e.path}`);
      else if (e.path === join(storage, 'local', 'root.crt')) assert.equal(e.mode.toString(8), '644', 'the root to copy to clients');
      else if (/PRIVATE KEY|CERTIFICATE/.test(text)) assert.equal(e.mode.toString(8), '600', `file ${e.path}`);
    }
  });

  it('fails the handshake for a name it does not serve, presenting no certificate', async () => {
    await assertRefused(p.https, 'other.test');
    await assert.rejects(httpsGet(p.https, 'other.test', '/', root), /socket disconnected|alert|ECONNRESET|unrecognized name/i);
  });

  it('redirects plain HTTP with 308 to https on the HTTPS port, path and query kept', async () => {
    const a = await fetchRaw(p.http, '/path?q', { headers: { host: `localhost:${p.http}` } });
    assert.equal(a.status, 308);
    assert.equal(a.headers.location, `https://localhost:${p.https}/path?q`);
    assert.equal(up.requests.some((r) => r.url === '/path?q'), false, 'the upstream never sees the plain request');
  });
});

describe('the root across restarts and storages', () => {
  let up: Upstream;
  const started: EdgeProcess[] = []; // every edge, so a failed assertion leaves none running
  const start = async (p: Ports, storage: string) => {
    const edge = await startLocal(['localhost'], p, up, storage);
    started.push(edge);
    return edge;
  };
  const storage = freshStorage();
  before(async () => (up = await startUpstream(app)));
  after(async () => {
    await Promise.all(started.map((e) => e.stop()));
    await up?.close();
  });

  it('a restart with the same storage keeps the root and serves the same leaf without issuing again', async () => {
    let p = await ports();
    let edge = await start(p, storage);
    await waitFor(() => issued(edge, 'localhost'), 'certificate localhost issued', 15_000);
    const root = readFileSync(join(storage, 'local', 'root.crt'), 'utf8');
    const leaf = readFileSync(join(storage, 'local', 'localhost', 'pair.pem'), 'utf8');
    const serial = await servedSerial(p.https, 'localhost', root);
    await edge.stop();

    p = await ports();
    edge = await start(p, storage);
    assert.equal(await servedSerial(p.https, 'localhost', root), serial);
    assert.equal((await httpsGet(p.https, 'localhost', '/again', root)).status, 200);
    await edge.stop();
    assert.doesNotMatch(logMessages(edge.stderr()), /issued/);
    assert.equal(readFileSync(join(storage, 'local', 'root.crt'), 'utf8'), root);
    assert.equal(readFileSync(join(storage, 'local', 'localhost', 'pair.pem'), 'utf8'), leaf);
  });

  it('with only a named site, a handshake without SNI fails and presents no certificate', async () => {
    const p = await ports();
    const edge = await start(p, storage);
    await assertRefused(p.https, undefined);
    await edge.stop();
  });

  it('a new storage gets a different root, whose leaves the old root does not verify', async () => {
    const oldRoot = readFileSync(join(storage, 'local', 'root.crt'), 'utf8');
    const other = freshStorage();
    const p = await ports();
    const edge = await start(p, other);
    await waitFor(() => issued(edge, 'localhost'), 'certificate localhost issued', 15_000);
    const newRoot = readFileSync(join(other, 'local', 'root.crt'), 'utf8');
    assert.notEqual(newRoot, oldRoot);
    assert.notEqual(new X509Certificate(newRoot).fingerprint256, new X509Certificate(oldRoot).fingerprint256);
    assert.equal((await httpsGet(p.https, 'localhost', '/', newRoot)).status, 200);
    await assert.rejects(httpsGet(p.https, 'localhost', '/', oldRoot), /unable to verify|self.signed|certificate/i);
    await edge.stop();
  });
});

describe('a config file: tls: internal for a public-looking name, and tls: { cert, key } files', () => {
  let up: Upstream;
  let edge: EdgeProcess;
  let p: Ports;
  let root: string;
  let fileRoot: string;
  let fileSerial: string;
  const storage = freshStorage();
  before(async () => {
    p = await ports();
    up = await startUpstream(app);
    // the certificate files come from the local CA of another storage, which edge never sees
    const elsewhere = new FsStorage(freshStorage());
    const ca = await LocalCA.load(elsewhere);
    const cert = await ca.issue(['files.example.net']);
    fileRoot = ca.rootPem;
    fileSerial = new X509Certificate(cert.certPem).serialNumber;
    const dir = mkdtempSync(join(tmpdir(), 'edge-files-'));
    writeFileSync(join(dir, 'cert.pem'), cert.chainPem);
    writeFileSync(join(dir, 'key.pem'), cert.keyPem, { mode: 0o600 });
    const { file } = writeConfig(`
http_port: ${p.http}
https_port: ${p.https}
bind: 127.0.0.1
storage: ${storage}
log: { access: off }
sites:
  - hosts: [intranet.example.com]
    tls: internal
    routes:
      - proxy: { to: ${up.address} }
  - hosts: [files.example.net]
    tls: { cert: ${join(dir, 'cert.pem')}, key: ${join(dir, 'key.pem')} }
    routes:
      - proxy: { to: ${up.address} }
`);
    edge = await startEdge(['run', '-c', file], { port: p.http });
    await waitFor(() => issued(edge, 'intranet.example.com'), 'certificate intranet.example.com issued', 15_000);
    root = readFileSync(join(storage, 'local', 'root.crt'), 'utf8');
  });
  after(async () => {
    await edge?.stop();
    await up?.close();
  });

  it('tls: internal gives intranet.example.com a local-CA certificate that verifies against the root', async () => {
    const h2 = await h2Get(p.https, 'intranet.example.com', '/in', root);
    assert.equal(h2.status, 200);
    assert.match(h2.text, /^app: \/in via https for intranet\.example\.com/);
    const h1 = await httpsGet(p.https, 'intranet.example.com', '/in1', root);
    assert.equal(h1.status, 200);
    const stored = new X509Certificate(readFileSync(join(storage, 'local', 'intranet.example.com', 'pair.pem')));
    assert.equal(await servedSerial(p.https, 'intranet.example.com', root), stored.serialNumber);
    assert.match(stored.issuer, /edge Local CA/);
    assert.doesNotMatch(logMessages(edge.stderr()), /intranet\.example\.com: ordering|acme/i, 'no ACME attempt for an internal site');
  });

  it('tls: { cert, key } serves exactly the certificate in the files', async () => {
    assert.equal(await servedSerial(p.https, 'files.example.net', fileRoot), fileSerial);
    const h1 = await httpsGet(p.https, 'files.example.net', '/f', fileRoot);
    assert.equal(h1.status, 200);
    assert.match(h1.text, /^app: \/f via https for files\.example\.net/);
    await assert.rejects(httpsGet(p.https, 'files.example.net', '/f', root), /unable to verify|certificate/i, 'not a certificate from edge\'s own CA');
    assert.deepEqual(readdirSync(join(storage, 'local')).filter((n) => n.includes('files')), [], 'edge stores nothing for a files site');
  });
});
