// What every Storage must give the certificate store, run inside the Storage conformance suite: a
// certificate and its key replaced as one unit (a crash between writes, or a reader in another
// instance, never meets a new key with an old certificate), folders of the layout before pair.pem
// still read, and a pair that cannot be served set aside with one error line, never a crash.

import { beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { appendFileSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Logger } from '../../src/ops/log.ts';
import { LogSink } from '../../src/ops/sink.ts';
import { CertStore, type Issued } from '../../src/tls/cert-store.ts';
import type { ServedCertificate } from '../../src/tls/context.ts';
import { LocalCA } from '../../src/tls/local-ca.ts';
import { nameFolder } from '../../src/tls/plan.ts';
import { FsStorage } from '../../src/tls/storage/fs.ts';
import type { Storage } from '../../src/tls/storage/storage.ts';

const NAME = 'pair.test';
const STORED = { name: NAME, source: 'local' } as const;
const FOLDER = `local/${nameFolder(NAME)}`;

/** Two certificates for NAME, each with its own key: an older and a newer one. */
let pairs: Promise<{ older: Issued; newer: Issued }> | undefined;
function twoPairs(): Promise<{ older: Issued; newer: Issued }> {
  pairs ??= (async () => {
    const ca = await LocalCA.load(new FsStorage(join(mkdtempSync(join(tmpdir(), 'edge-pairs-')), 'ca')));
    const issue = async () => {
      const c = await ca.issue([NAME]);
      return { certPem: c.chainPem, keyPem: c.keyPem };
    };
    return { older: await issue(), newer: await issue() };
  })();
  return pairs;
}

// one log file for the whole run: a sink per test would add an exit listener each. Lines are
// appended at once: LogSink's own writes are asynchronous, and a line still in flight when a test
// reads the file would be missed (seen under load)
const logFile = join(mkdtempSync(join(tmpdir(), 'edge-pairs-log-')), 'error.log');
class AppendingSink extends LogSink {
  override write(line: string): void {
    appendFileSync(logFile, line);
  }
}
const logger = new Logger(new AppendingSink(logFile), 'text');
function logSince(mark: number): string[] {
  logger.flushSync();
  return readFileSync(logFile, 'utf8').slice(mark).split('\n').filter((l) => l !== '');
}
function logMark(): number {
  logger.flushSync();
  return readFileSync(logFile, 'utf8').length;
}

/** The same storage, as a process killed right after its first write (put or delete) would leave it. */
function killedAfterFirstWrite(storage: Storage): Storage {
  let writes = 0;
  const write = () => {
    if (writes++ >= 1) throw new Error('killed after the first write');
  };
  return {
    description: storage.description,
    get: (key) => storage.get(key),
    put: async (key, value) => {
      write();
      await storage.put(key, value);
    },
    delete: async (key) => {
      write();
      await storage.delete(key);
    },
    list: (prefix) => storage.list(prefix),
    lock: (name, opts) => storage.lock(name, opts),
  };
}

function assertServable(cert: ServedCertificate | undefined, what: string): asserts cert is ServedCertificate {
  assert.ok(cert, `${what}: a certificate is loaded`);
  assert.ok(new X509Certificate(cert.certPem).checkPrivateKey(createPrivateKey(cert.keyPem)), `${what}: its key is the certificate's key`);
}

async function writeOldLayout(storage: Storage, pair: { certPem: string; keyPem: string }): Promise<void> {
  await storage.put(`${FOLDER}/key.pem`, pair.keyPem);
  await storage.put(`${FOLDER}/cert.pem`, pair.certPem);
}

export function certificatePairConformance(current: () => Storage): void {
  describe('certificate pairs through the CertStore', () => {
    let storage: Storage;
    let store: CertStore;
    let older: Issued;
    let newer: Issued;
    beforeEach(async () => {
      storage = current();
      store = new CertStore(storage, undefined, logger);
      ({ older, newer } = await twoPairs());
    });

    it('a saved pair is one stored value and is loaded back whole', async () => {
      await store.save(STORED, newer);
      assert.deepEqual(await storage.list(`${FOLDER}/`), [`${FOLDER}/pair.pem`]);
      const loaded = await store.load(STORED);
      assertServable(loaded, 'after a save');
      assert.equal(loaded.certPem.trim(), newer.certPem.trim());
      assert.equal(loaded.keyPem.trim(), newer.keyPem.trim());
      assert.deepEqual(loaded.names, [NAME]);
    });

    it('the layout before pair.pem (cert.pem and key.pem) is still read, and the next save replaces it', async () => {
      await writeOldLayout(storage, older);
      const loaded = await store.load(STORED);
      assertServable(loaded, 'old layout');
      assert.equal(loaded.certPem, older.certPem);
      await store.save(STORED, newer);
      assert.deepEqual(await storage.list(`${FOLDER}/`), [`${FOLDER}/pair.pem`]);
      assert.equal((await store.load(STORED))?.certPem.trim(), newer.certPem.trim());
    });

    for (const layout of ['the old layout', 'pair.pem'] as const) {
      it(`a crash between the key and certificate writes leaves a loadable pair (stored before in ${layout})`, async () => {
        if (layout === 'pair.pem') await store.save(STORED, older);
        else await writeOldLayout(storage, older);
        const dying = new CertStore(killedAfterFirstWrite(storage), undefined, logger);
        await dying.save(STORED, newer).then(() => {}, () => {});
        const mark = logMark();
        const loaded = await new CertStore(storage, undefined, logger).load(STORED);
        assertServable(loaded, 'after the crash');
        assert.ok([older.certPem.trim(), newer.certPem.trim()].includes(loaded.certPem.trim()), 'the old pair or the new one');
        assert.deepEqual(logSince(mark), [], 'nothing was set aside');
      });
    }

    for (const layout of ['the old layout', 'pair.pem'] as const) {
      it(`a key that does not match its certificate (${layout}) is set aside, with one error line, and the name has no certificate`, async () => {
        const keys = layout === 'pair.pem' ? ['pair.pem'] : ['cert.pem', 'key.pem'];
        const values = layout === 'pair.pem'
          ? { 'pair.pem': `${older.certPem}${newer.keyPem}` }
          : { 'cert.pem': older.certPem, 'key.pem': newer.keyPem };
        for (const [k, v] of Object.entries(values)) await storage.put(`${FOLDER}/${k}`, v);
        const mark = logMark();
        assert.equal(await store.load(STORED), undefined);
        const lines = logSince(mark);
        assert.equal(lines.length, 1, lines.join('\n'));
        assert.match(lines[0]!, new RegExp(`error.*certificate ${NAME.replace('.', '\\.')}: stored .* cannot be served: the private key \\(rsa\\) is not the key of the certificate .*; set aside as .*\\.bad-\\d{8}T\\d{9}Z`));
        const left = await storage.list(`${FOLDER}/`);
        assert.equal(left.length, keys.length, `only the set-aside copies are left: ${left.join(', ')}`);
        for (const k of keys) {
          const aside = left.find((l) => l.startsWith(`${FOLDER}/${k}.bad-`));
          assert.ok(aside, `${k} was set aside: ${left.join(', ')}`);
          assert.equal((await storage.get(aside))?.toString(), values[k as keyof typeof values], 'kept byte for byte, never deleted');
        }
        assert.equal(await store.load(STORED), undefined, 'still no certificate, and no second line');
        assert.deepEqual(logSince(mark).length, 1);
        await store.save(STORED, newer);
        assertServable(await store.load(STORED), 'a new pair after the bad one');
      });
    }

    it('a certificate that does not parse is set aside, and so is a key with no certificate beside it', async () => {
      await storage.put(`${FOLDER}/pair.pem`, `-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n${older.keyPem}`);
      const mark = logMark();
      assert.equal(await store.load(STORED), undefined);
      assert.match(logSince(mark).join('\n'), /certificate pair\.test: stored local\/pair\.test\/pair\.pem .* cannot be served: the certificate does not parse .*; set aside as local\/pair\.test\/pair\.pem\.bad-/);

      await storage.put(`${FOLDER}/key.pem`, older.keyPem);
      const mark2 = logMark();
      assert.equal(await store.load(STORED), undefined);
      assert.match(logSince(mark2).join('\n'), /stored local\/pair\.test\/key\.pem .* cannot be served: key\.pem has no cert\.pem beside it; set aside/);
      assert.equal(await storage.get(`${FOLDER}/key.pem`), undefined);
    });

    it('a bad pair is left in place while another process holds the name\'s lock (it may be storing a new one)', async () => {
      await writeOldLayout(storage, { certPem: older.certPem, keyPem: newer.keyPem });
      const lock = await storage.lock(store.lockName(STORED));
      const mark = logMark();
      try {
        assert.equal(await store.load(STORED), undefined);
      } finally {
        await lock.release();
      }
      assert.match(logSince(mark).join('\n'), /cannot be served: .*; not set aside yet \(another process holds its lock/);
      assert.deepEqual(await storage.list(`${FOLDER}/`), [`${FOLDER}/cert.pem`, `${FOLDER}/key.pem`]);
      assert.equal(await store.load(STORED), undefined);
      assert.equal((await storage.list(`${FOLDER}/`)).filter((k) => k.includes('.bad-')).length, 2, 'set aside once the lock is free');
    });

    it('a reader never sees a new key with an old certificate while pairs are being replaced', { timeout: 60_000 }, async () => {
      await store.save(STORED, older);
      let writing = true;
      const writer = (async () => {
        try {
          for (let i = 0; i < 30; i++) await store.save(STORED, i % 2 === 0 ? newer : older);
        } finally {
          writing = false;
        }
      })();
      const reader = new CertStore(storage, undefined, logger);
      let reads = 0;
      while (writing && reads < 2_000) {
        const seen = await reader.inspect(STORED);
        reads++;
        assert.equal(seen.kind, 'good', `read ${reads}: ${seen.kind === 'bad' ? seen.problem : seen.kind}`);
      }
      await writer;
      assert.ok(reads > 0);
    });
  });
}
