// Propagation between two certificate managers sharing one real Redis, in one process: a notice
// over pub/sub installs the other's new certificate, and a certificate stored without a notice
// (one missed while disconnected) is found by the poll.

import { after, before, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Logger } from '../../src/ops/log.ts';
import { LogSink } from '../../src/ops/sink.ts';
import { Challenges } from '../../src/tls/challenges.ts';
import { Fleet } from '../../src/tls/fleet.ts';
import { LocalCA } from '../../src/tls/local-ca.ts';
import { CertManager } from '../../src/tls/manager.ts';
import { nameFolder } from '../../src/tls/plan.ts';
import { CertificateTable } from '../../src/tls/sni.ts';
import { RedisStorage } from '../../src/tls/storage/redis.ts';
import { parseRedisUrl } from '../../src/tls/storage/redis-url.ts';
import { startRedis, type RedisServer } from '../helpers/redis.ts';
import { waitFor } from '../helpers/edge.ts';

const NAME = 'fleet.test';
let redis: RedisServer;
let dir: string;
const closers: (() => void)[] = [];

before(async () => {
  redis = await startRedis();
  dir = mkdtempSync(join(tmpdir(), 'edge-fleet-'));
});
after(async () => {
  for (const close of closers) close();
  await redis?.destroy();
  rmSync(dir, { recursive: true, force: true });
});

/** One instance: its own connection, manager and log file; `pollMs` for its fleet. */
async function instance(label: string, pollMs: number) {
  const storage = new RedisStorage(parseRedisUrl(`${redis.url}?prefix=unitfleet:`));
  const log = join(dir, `${label}.log`);
  const logger = new Logger(new LogSink(log));
  const fleet = new Fleet(storage, new Challenges(), logger, { pollMs });
  const manager = new CertManager({ sources: [{ kind: 'local', name: NAME }], storage, table: new CertificateTable(), logger, preflight: false, onStored: (n) => fleet.announce(n) });
  fleet.attach(manager);
  closers.push(() => {
    manager.stop();
    fleet.stop();
    storage.close();
  });
  await manager.start();
  await manager.settled();
  return { storage, manager, log: () => readFileSync(log, 'utf8'), pem: () => manager.states()[0]!.cert?.certPem };
}

it('a renewal on one instance reaches the other by its notice; a certificate stored without one, by the poll', { timeout: 60_000 }, async () => {
  // a and b poll only hourly: what b learns in this test, it learns from a's notice
  const a = await instance('a', 3_600_000);
  const b = await instance('b', 3_600_000);
  assert.ok(a.pem());
  assert.equal(b.pem(), a.pem(), 'b found the certificate a stored');

  const first = a.pem();
  await a.manager.renew(NAME);
  assert.ok(a.pem(), 'a serves a certificate after the renewal');
  assert.notEqual(a.pem(), first, 'the renewal replaced a\'s certificate');
  await waitFor(() => b.pem() === a.pem(), 'b to install a\'s renewed certificate', 10_000);
  await waitFor(() => /installed the certificate another instance stored/.test(b.log()), 'b to log the pick-up');

  // as if the notice had been missed: a new certificate written straight to storage; c polls
  const c = await instance('c', 500);
  assert.equal(c.pem(), a.pem());
  const issued = await (await LocalCA.load(a.storage)).issue([NAME]);
  await a.storage.put(`local/${nameFolder(NAME)}/pair.pem`, issued.chainPem + issued.keyPem);
  await waitFor(() => c.pem() === issued.chainPem, 'c\'s poll to find the certificate', 10_000);
  // no notice, no poll due: a and b still serve the one they had
  assert.notEqual(a.pem(), issued.chainPem);
  assert.notEqual(b.pem(), issued.chainPem);
});
