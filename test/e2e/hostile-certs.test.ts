// Certificates that cannot be served, met by a real edge: the state a crash during renewal leaves
// (a new key beside the old certificate, in the layout before pair.pem and in pair.pem), a stored
// certificate that does not parse, and a site's own tls: { cert, key } files that do not belong
// together. Each is set aside or refused with one clear line; edge never crashes, and the other
// names keep serving.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync, X509Certificate } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, logMessages, runEdge, startEdge, waitFor, type EdgeProcess } from '../helpers/edge.ts';
import { writeConfig } from '../helpers/config.ts';
import { httpsGet, servedSerial } from '../helpers/tls-client.ts';
import { startUpstream, type Upstream } from '../helpers/upstream.ts';
import { CertStore } from '../../src/tls/cert-store.ts';
import { LocalCA } from '../../src/tls/local-ca.ts';
import { FsStorage } from '../../src/tls/storage/fs.ts';

const app = (req: IncomingMessage, res: ServerResponse) => res.end(`app for ${req.headers.host}`);
const otherKey = () => generateKeyPairSync('rsa', { modulusLength: 2048, privateKeyEncoding: { type: 'pkcs8', format: 'pem' }, publicKeyEncoding: { type: 'spki', format: 'pem' } }).privateKey;
const serial = (pem: string) => new X509Certificate(pem).serialNumber;

/** Stops `edge` and fails if it had already exited: a crash is what these tests look for. */
async function stopAlive(edge: EdgeProcess | undefined): Promise<void> {
  if (!edge) return;
  const crashed = edge.proc.exitCode !== null || edge.proc.signalCode !== null;
  await edge.stop();
  assert.equal(crashed, false, `edge exited by itself:\n${edge.stderr()}`);
}

describe('stored certificates that cannot be served, at start', () => {
  const storage = join(mkdtempSync(join(tmpdir(), 'edge-hostile-certs-')), 'certs');
  const names = { oldLayout: 'crash-old.test', pair: 'crash-pair.test', garbage: 'garbage.test', good: 'good.test', goodOld: 'good-old.test' };
  const stored: Record<string, string> = {};
  let up: Upstream;
  let edge: EdgeProcess;
  let root: string;
  let https: number;

  before(async () => {
    up = await startUpstream(app);
    const fs = new FsStorage(storage);
    const ca = await LocalCA.load(fs);
    root = ca.rootPem;
    const store = new CertStore(fs, undefined);
    const at = (name: string) => join(storage, 'local', name);
    for (const name of Object.values(names)) {
      const c = await ca.issue([name]);
      stored[name] = c.chainPem;
      if (name === names.good || name === names.pair) await store.save({ name, source: 'local' }, { certPem: c.chainPem, keyPem: c.keyPem });
      else {
        // the layout existing stores have on users' disks
        await fs.put(`local/${name}/key.pem`, c.keyPem);
        await fs.put(`local/${name}/cert.pem`, c.chainPem);
      }
    }
    // killed between the two writes of a renewal: the new key went in, the certificate stayed old
    writeFileSync(join(at(names.oldLayout), 'key.pem'), otherKey(), { mode: 0o600 });
    writeFileSync(join(at(names.pair), 'pair.pem'), stored[names.pair] + otherKey(), { mode: 0o600 });
    writeFileSync(join(at(names.garbage), 'cert.pem'), '-----BEGIN CERTIFICATE-----\nMIIBroken\n-----END CERTIFICATE-----\n', { mode: 0o600 });

    const http = await freePort();
    https = await freePort();
    const { file } = writeConfig(`
http_port: ${http}
https_port: ${https}
bind: 127.0.0.1
storage: ${storage}
log: { access: off }
sites:
  - hosts: [${Object.values(names).join(', ')}]
    tls: internal
    routes:
      - proxy: { to: ${up.address} }
`);
    edge = await startEdge(['run', '-c', file], { port: http });
    const issuedAgain = [names.oldLayout, names.pair, names.garbage];
    await waitFor(() => issuedAgain.every((n) => logMessages(edge.stderr()).includes(`certificate ${n}: issued by edge Local CA`)),
      () => `new certificates for ${issuedAgain.join(', ')}:\n${edge.stderr()}`, 20_000);
  });
  after(async () => {
    await stopAlive(edge);
    await up?.close();
  });

  const setAsideLine = (name: string) => logMessages(edge.stderr()).split('\n').filter((l) => l.startsWith(`certificate ${name}: stored `));
  const files = (name: string) => readdirSync(join(storage, 'local', name));

  it('a key that does not match its certificate is set aside and edge starts and serves the others', async () => {
    for (const name of [names.oldLayout, names.pair]) {
      const lines = setAsideLine(name);
      assert.equal(lines.length, 1, `one line for ${name}: ${lines.join('\n')}`);
      assert.match(lines[0]!, /cannot be served: the private key \(rsa\) is not the key of the certificate \(serial [0-9A-F]+, rsa\); set aside as .*\.bad-\d{8}T\d{9}Z.*, treated as no certificate$/);
      // the new pair verifies, and is not the certificate that was set aside
      const answer = await httpsGet(https, name, '/', root);
      assert.equal(answer.status, 200);
      assert.equal(answer.text, `app for ${name}`);
      assert.notEqual(await servedSerial(https, name, root), serial(stored[name]!));
    }
    for (const name of [names.oldLayout, names.pair]) {
      const current = files(name).filter((f) => !f.includes('.bad-'));
      assert.ok(current.includes('pair.pem') && current.every((f) => f === 'pair.pem' || f === 'ledger.json'), `${name}: ${current.join(', ')}`);
    }
    assert.deepEqual(files(names.oldLayout).filter((f) => f.includes('.bad-')).map((f) => f.replace(/\.bad-.*/, '')).sort(), ['cert.pem', 'key.pem']);
    assert.deepEqual(files(names.pair).filter((f) => f.includes('.bad-')).map((f) => f.replace(/\.bad-.*/, '')), ['pair.pem']);
    for (const name of [names.oldLayout, names.pair]) {
      for (const f of files(name)) assert.equal((statSync(join(storage, 'local', name, f)).mode & 0o777).toString(8), '600', `${name}/${f}`);
    }
  });

  it('the names whose pairs are sound serve their stored certificates, in either layout, without issuing again', async () => {
    for (const name of [names.good, names.goodOld]) {
      assert.equal(await servedSerial(https, name, root), serial(stored[name]!), name);
      assert.equal((await httpsGet(https, name, '/', root)).text, `app for ${name}`);
      assert.doesNotMatch(logMessages(edge.stderr()), new RegExp(`certificate ${name.replace('.', '\\.')}: (issued|stored)`));
    }
  });

  it('a certificate file that does not parse is set aside', async () => {
    const lines = setAsideLine(names.garbage);
    assert.equal(lines.length, 1, lines.join('\n'));
    assert.match(lines[0]!, /^certificate garbage\.test: stored local\/garbage\.test\/cert\.pem and local\/garbage\.test\/key\.pem in .* cannot be served: the certificate does not parse .*; set aside as /);
    const aside = files(names.garbage).find((f) => f.startsWith('cert.pem.bad-'));
    assert.ok(aside, files(names.garbage).join(', '));
    assert.match(readFileSync(join(storage, 'local', names.garbage, aside), 'utf8'), /MIIBroken/, 'kept as it was, never deleted');
    assert.equal((await httpsGet(https, names.garbage, '/', root)).status, 200);
  });
});

describe('a site\'s own tls: { cert, key } files that do not belong together', () => {
  let up: Upstream;
  let dir: string;
  let ca: LocalCA;
  let good: { certPem: string; keyPem: string };
  const started: EdgeProcess[] = [];

  before(async () => {
    up = await startUpstream(app);
    dir = mkdtempSync(join(tmpdir(), 'edge-own-files-'));
    ca = await LocalCA.load(new FsStorage(join(dir, 'ca')));
    const c = await ca.issue(['files.test']);
    good = { certPem: c.chainPem, keyPem: c.keyPem };
  });
  after(async () => {
    for (const e of started) await stopAlive(e);
    await up?.close();
  });

  const config = (http: number, https: number, cert: string, key: string) => writeConfig(`
http_port: ${http}
https_port: ${https}
bind: 127.0.0.1
storage: ${join(dir, 'certs')}
log: { access: off }
sites:
  - hosts: [files.test]
    tls: { cert: ${cert}, key: ${key} }
    routes:
      - proxy: { to: ${up.address} }
`).file;

  it('are a config error naming the files at edge check and at start, which exits 1 before listening', async () => {
    const cert = join(dir, 'mismatch.crt');
    const key = join(dir, 'mismatch.key');
    writeFileSync(cert, good.certPem);
    writeFileSync(key, otherKey(), { mode: 0o600 });
    const http = await freePort();
    const file = config(http, await freePort(), cert, key);
    const problem = new RegExp(`edge\\.yaml:\\d+:\\d+: sites\\[0\\]\\.tls: ${cert.replaceAll('.', '\\.')} and ${key.replaceAll('.', '\\.')} cannot be served: the private key \\(rsa\\) is not the key of the certificate`);

    const checked = await runEdge(['check', '-c', file]);
    assert.equal(checked.code, 1, checked.stderr);
    assert.match(checked.stderr, problem);

    const run = await runEdge(['run', '-c', file]);
    assert.equal(run.code, 1, run.stderr);
    assert.match(run.stderr, problem);
    assert.doesNotMatch(run.stderr, /listening|internal error|ERR_OSSL/);
    // it exited on its own, having never listened
    const refused = await new Promise<string>((resolve) => connect(http, '127.0.0.1').on('connect', () => resolve('connected')).on('error', (e: NodeJS.ErrnoException) => resolve(e.code!)));
    assert.equal(refused, 'ECONNREFUSED');

    writeFileSync(cert, 'not a certificate\n');
    const garbage = await runEdge(['check', '-c', file]);
    assert.equal(garbage.code, 1);
    assert.match(garbage.stderr, /cannot be served: the certificate does not parse/);
  });

  it('at a reload, files that no longer match are refused and the old certificate keeps serving', async () => {
    const cert = join(dir, 'reload.crt');
    const key = join(dir, 'reload.key');
    writeFileSync(cert, good.certPem);
    writeFileSync(key, good.keyPem, { mode: 0o600 });
    const http = await freePort();
    const https = await freePort();
    const edge = await startEdge(['run', '-c', config(http, https, cert, key)], { port: http });
    started.push(edge);
    assert.equal(await servedSerial(https, 'files.test', ca.rootPem), serial(good.certPem));

    // half of a replacement: the new key is in place, the certificate not yet
    writeFileSync(key, otherKey(), { mode: 0o600 });
    edge.proc.kill('SIGHUP');
    await waitFor(() => /reload refused/.test(logMessages(edge.stderr())), () => `the reload to be refused:\n${edge.stderr()}`, 10_000);
    assert.match(logMessages(edge.stderr()), new RegExp(`reload refused, the running config keeps serving: .*sites\\[0\\]\\.tls: ${cert.replaceAll('.', '\\.')} and ${key.replaceAll('.', '\\.')} cannot be served: the private key`));
    assert.equal(await servedSerial(https, 'files.test', ca.rootPem), serial(good.certPem));
    assert.equal((await httpsGet(https, 'files.test', '/', ca.rootPem)).text, 'app for files.test');

    // the rest of the replacement arrives: the next reload takes it
    const next = await ca.issue(['files.test']);
    writeFileSync(key, next.keyPem, { mode: 0o600 });
    writeFileSync(cert, next.chainPem);
    edge.proc.kill('SIGHUP');
    await waitFor(() => /config reloaded from/.test(logMessages(edge.stderr())), () => `the reload:\n${edge.stderr()}`, 10_000);
    assert.equal(await servedSerial(https, 'files.test', ca.rootPem), serial(next.chainPem));
  });
});
