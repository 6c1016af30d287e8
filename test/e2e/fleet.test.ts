// Fleet mode end to end: one real redis-server, one Pebble, three edge processes on their own
// ports sharing storage: redis://…, all configured for the same name. Pebble's validation ports
// are forwarders the test steers, so a challenge reaches an instance that did not place the order.
// Covered: exactly one order for three instances (HTTP-01; and TLS-ALPN-01 with two); the lock holder killed mid-issuance and another
// finishing after its lease; Redis stopped for 10 s under HTTPS load with no failed request; a
// forced renewal after Redis returns reaching every instance; two instances with two workers each,
// where the worker that takes Pebble's validation finds the challenge in Redis.

import { after, before, describe, it } from 'node:test';
import { createServer, type AddressInfo, type Server } from 'node:net';
import assert from 'node:assert/strict';
import { runEdge, startEdge, waitFor, type EdgeProcess } from '../helpers/edge.ts';
import { startUpstream, type Upstream } from '../helpers/upstream.ts';
import { writeConfig } from '../helpers/config.ts';
import { startPebble, type Pebble } from '../helpers/pebble.ts';
import { startRedis, type RedisServer } from '../helpers/redis.ts';
import { startForwarder, type Forwarder } from '../helpers/forwarder.ts';
import { httpsGet, servedSerial } from '../helpers/tls-client.ts';

/** The Redis lock lease (src/tls/storage/redis.ts LOCK_LEASE_MS). */
const LEASE_MS = 10_000;

interface Instance {
  edge: EdgeProcess;
  http: number;
  https: number;
  config: string;
  killed?: boolean;
}

let redis: RedisServer;
let pebble: Pebble;
let up: Upstream;
let httpForward: Forwarder;
let tlsForward: Forwarder;
/** Which instance the next validation connection goes to; each test sets it. */
let route: () => Promise<Instance>;

before(async () => {
  const [fwdHttp, fwdTls] = await distinctPorts(2);
  redis = await startRedis();
  pebble = await startPebble({ httpPort: fwdHttp, tlsPort: fwdTls });
  up = await startUpstream((req, res) => res.end(`app: ${req.url}`));
  httpForward = await startForwarder(fwdHttp, async () => (await route()).http);
  tlsForward = await startForwarder(fwdTls, async () => (await route()).https);
});
after(async () => {
  await httpForward?.close();
  await tlsForward?.close();
  await up?.close();
  await pebble?.stop();
  await redis?.destroy();
});

/** Starts `count` instances into `fleet` (each as soon as it runs, so after() stops them even if one fails). */
async function startFleet(fleet: Instance[], name: string, prefix: string, count: number, adminFirst: boolean, challenge = 'http-01', workers = 1): Promise<void> {
  const ports = await distinctPorts(3 * count);
  // allSettled: every instance that did start is in `fleet` before a failure reaches after()
  const started = await Promise.allSettled(Array.from({ length: count }, async (_, i) => {
    const [http, https, admin] = ports.slice(3 * i, 3 * i + 3) as [number, number, number];
    const { file } = writeConfig(`
http_port: ${http}
https_port: ${https}
bind: 127.0.0.1
workers: ${workers}
admin: ${adminFirst && i === 0 ? `127.0.0.1:${admin}` : 'off'}
storage: "${redis.url}?prefix=${prefix}"
log: { access: off }
acme:
  ca: ${pebble.directory}
  ca_root: ${pebble.listenerRootFile}
  challenges: [${challenge}]
  preflight: false
sites:
  - hosts: [${name}]
    routes:
      - proxy: { to: ${up.address} }
`);
    // several instances starting at once, while other suites run: allow more than one start's time
    fleet[i] = { edge: await startEdge(['run', '-c', file], { port: http, startMs: 30_000 }), http, https, config: file };
  }));
  for (const s of started) if (s.status === 'rejected') throw s.reason;
}

/** `n` different free ports: held open together, so no two of them are the same. */
async function distinctPorts(n: number): Promise<number[]> {
  const servers = await Promise.all(Array.from({ length: n }, () => new Promise<Server>((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => resolve(s));
  })));
  const ports = servers.map((s) => (s.address() as AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  return ports;
}

/** The instances started and not killed (a fleet fills in as its instances start). */
const live = (fleet: Instance[]) => fleet.filter((i) => i !== undefined && !i.killed);

const placed = (i: Instance) => /ordering \(/.test(i.edge.stderr());

/** Pebble's count of new orders (each POST to its newOrder URL). */
const orders = () => pebble.output().split('\n').filter((l) => /POST \/order-plz/.test(l)).length;

/** The serial every instance serves for `name`, once they all serve the same one (verified). */
async function commonSerial(instances: Instance[], name: string, root: string, ms: number, not?: string): Promise<string> {
  const deadline = Date.now() + ms;
  let seen: string[] = [];
  for (;;) {
    seen = await Promise.all(instances.map((i) => servedSerial(i.https, name, root).catch((e: Error) => `error: ${e.message}`)));
    if (seen.every((s) => s === seen[0] && !s.startsWith('error') && s !== not)) return seen[0]!;
    if (Date.now() > deadline) throw new Error(`instances did not converge on one certificate: ${seen.join(', ')}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('a fleet of three instances sharing Redis', () => {
  const NAME = 'fleet.edge-e2e.net';
  const fleet: Instance[] = [];
  let root: string;
  let serial: string;
  const ordersBefore = { n: 0 };

  before(async () => {
    // validation goes to an instance that did not place the order
    route = async () => {
      await waitFor(() => live(fleet).some(placed) && live(fleet).some((i) => !placed(i)), 'an order placed, and another instance', 20_000);
      return live(fleet).find((i) => !placed(i))!;
    };
    ordersBefore.n = orders();
    await startFleet(fleet, NAME, 'fleet1:', 3, true);
    root = await pebble.issuingRoot();
  });
  after(async () => {
    await Promise.all(fleet.filter(Boolean).map((i) => i.edge.stop()));
  });

  it('places exactly one order; all three serve the same certificate, verified against Pebble\'s root', { timeout: 90_000 }, async () => {
    serial = await commonSerial(fleet, NAME, root, 60_000);
    assert.equal(fleet.filter(placed).length, 1, fleet.map((i) => i.edge.stderr()).join('\n---\n'));
    assert.equal(orders() - ordersBefore.n, 1, 'orders that reached Pebble');
    const placer = fleet.find(placed)!;
    assert.ok(httpForward.sentTo.length >= 1, 'Pebble validated through the forwarder');
    assert.ok(httpForward.sentTo.every((p) => p !== placer.http), 'every validation went to an instance that did not place the order');
    const h1 = await httpsGet(fleet[2]!.https, NAME, '/x', root);
    assert.equal(h1.text, 'app: /x');
  });

  it('Redis stopped for 10 s under HTTPS load: no failed request, one log line per outage', { timeout: 90_000 }, async () => {
    let ok = 0;
    const failures: string[] = [];
    let running = true;
    const worker = async (w: number) => {
      for (let n = 0; running && n < 5000; n++) {
        const i = fleet[(w + n) % fleet.length]!;
        try {
          const answer = await httpsGet(i.https, NAME, `/load/${w}/${n}`, root);
          if (answer.status === 200 && answer.text === `app: /load/${w}/${n}`) ok++;
          else failures.push(`${answer.status} ${answer.text}`);
        } catch (err) {
          failures.push((err as Error).message);
        }
      }
    };
    const load = Promise.all([0, 1, 2, 3].map(worker));
    await new Promise((r) => setTimeout(r, 1000));
    const okBefore = ok;
    await redis.stop();
    await new Promise((r) => setTimeout(r, 10_000));
    const okDuring = ok - okBefore;
    await redis.start();
    await new Promise((r) => setTimeout(r, 2000));
    running = false;
    await load;
    console.log(`# load: ${ok} HTTPS requests (${okDuring} while Redis was down), ${failures.length} failed`);
    assert.deepEqual(failures.slice(0, 5), []);
    assert.ok(okDuring > 50, `only ${okDuring} requests while Redis was down`);
    for (const i of fleet) {
      await waitFor(() => /reachable again/.test(i.edge.stderr()), 'each instance to see Redis back', 15_000);
      assert.equal(i.edge.stderr().split('\n').filter((l) => /unreachable \(/.test(l) && l.includes('storage redis://')).length, 1, i.edge.stderr());
      assert.equal(i.edge.stderr().split('\n').filter((l) => /reachable again/.test(l)).length, 1);
    }
  });

  it('after Redis returns, a forced renewal (edge certs renew) reaches all three instances', { timeout: 90_000 }, async () => {
    const renewer = fleet[0]!;
    route = async () => fleet[1]!;
    const before = orders();
    const sentBefore = httpForward.sentTo.length;
    const result = await runEdge(['certs', 'renew', NAME, '-c', renewer.config]);
    assert.equal(result.code, 0, result.stderr + result.stdout);
    assert.match(result.stdout, /new certificate from Pebble Intermediate CA/);
    const renewed = await commonSerial(fleet, NAME, root, 20_000, serial);
    assert.notEqual(renewed, serial);
    assert.equal(orders() - before, 1);
    assert.ok(httpForward.sentTo.slice(sentBefore).every((p) => p === fleet[1]!.http));
    for (const i of fleet.slice(1)) assert.match(i.edge.stderr(), /installed the certificate another instance stored/);
  });

  it('edge certs list reads the shared storage for an instance without an admin endpoint', { timeout: 60_000 }, async () => {
    const listed = await runEdge(['certs', 'list', '-c', fleet[2]!.config]);
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(listed.stdout, new RegExp(`from storage redis://127\\.0\\.0\\.1:${redis.port}/0\\?prefix=fleet1: \\(edge is not running\\)`));
    assert.match(listed.stdout, new RegExp(`${NAME.replaceAll('.', '\\.')}\\s+acme\\s+Pebble Intermediate CA`));
  });
});

describe('the instance holding the lock killed mid-issuance', () => {
  const NAME = 'takeover.edge-e2e.net';
  const fleet: Instance[] = [];
  after(async () => {
    await Promise.all(fleet.filter(Boolean).map((i) => i.edge.stop()));
  });

  it('another instance takes the lock when the lease runs out and finishes the certificate', { timeout: 120_000 }, async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    // hold Pebble's validation of the first order until its placer is dead, then answer from a
    // live instance: the challenge material is in Redis
    route = async () => {
      await gate;
      return live(fleet).find((i) => !placed(i)) ?? live(fleet)[0]!;
    };
    const ordersBefore = orders();
    await startFleet(fleet, NAME, 'fleet2:', 3, false);
    await waitFor(() => live(fleet).some(placed), 'an instance to place the order', 30_000);
    const holder = live(fleet).find(placed)!;
    holder.killed = true;
    holder.edge.proc.kill('SIGKILL');
    await holder.edge.exited;
    const killedAt = Date.now();
    release();
    const survivors = fleet.filter((i) => !i.killed);
    await waitFor(() => survivors.some(placed), 'a survivor to take the lock and order', 2 * LEASE_MS + 10_000);
    const tookOver = Date.now() - killedAt;
    const root = await pebble.issuingRoot();
    await commonSerial(survivors, NAME, root, 30_000);
    const finished = Date.now() - killedAt;
    console.log(`# takeover: lock taken ${tookOver} ms after the SIGKILL, certificate served by both survivors after ${finished} ms (lease ${LEASE_MS} ms)`);
    // the lease bounds the wait, plus a lock poll (at most 1 s) and the new order's round trip to
    // Pebble before "ordering" is logged, on a machine other test suites keep busy
    assert.ok(tookOver < LEASE_MS + 5000, `lock taken over after ${tookOver} ms`);
    assert.equal(survivors.filter(placed).length, 1);
    assert.equal(orders() - ordersBefore, 2, 'the dead holder\'s order and the successor\'s');
  });
});

describe('a TLS-ALPN-01 challenge answered by an instance that did not place the order', () => {
  const NAME = 'alpn.edge-e2e.net';
  const fleet: Instance[] = [];
  after(async () => {
    await Promise.all(fleet.filter(Boolean).map((i) => i.edge.stop()));
  });

  it('one order, both instances serve the certificate', { timeout: 90_000 }, async () => {
    route = async () => {
      await waitFor(() => live(fleet).some(placed) && live(fleet).some((i) => !placed(i)), 'an order placed, and another instance', 20_000);
      return live(fleet).find((i) => !placed(i))!;
    };
    const ordersBefore = orders();
    const sentBefore = tlsForward.sentTo.length;
    await startFleet(fleet, NAME, 'fleet3:', 2, false, 'tls-alpn-01');
    await commonSerial(fleet, NAME, await pebble.issuingRoot(), 60_000);
    const placer = fleet.find(placed)!;
    assert.match(placer.edge.stderr(), /ordering \(tls-alpn-01\)/);
    assert.equal(fleet.filter(placed).length, 1);
    assert.equal(orders() - ordersBefore, 1);
    const sent = tlsForward.sentTo.slice(sentBefore);
    assert.ok(sent.length >= 1 && sent.every((p) => p !== placer.https), `validations went to ${sent.join(', ')}, placer ${placer.https}`);
  });
});

describe('a fleet of two instances with two workers each', () => {
  const NAME = 'workers.edge-e2e.net';
  const fleet: Instance[] = [];
  after(async () => {
    await Promise.all(fleet.filter(Boolean).map((i) => i.edge.stop()));
  });

  it('one order; the other instance\'s workers answer the challenge from Redis; every connection gets the certificate', { timeout: 120_000 }, async () => {
    route = async () => {
      await waitFor(() => live(fleet).some(placed) && live(fleet).some((i) => !placed(i)), 'an order placed, and another instance', 30_000);
      return live(fleet).find((i) => !placed(i))!;
    };
    const ordersBefore = orders();
    const sentBefore = httpForward.sentTo.length;
    await startFleet(fleet, NAME, 'fleet4:', 2, false, 'http-01', 2);
    const root = await pebble.issuingRoot();
    const serial = await commonSerial(fleet, NAME, root, 90_000);
    const placer = fleet.find(placed)!;
    for (const i of fleet) assert.match(i.edge.stderr(), /workers\s+2\b/);
    assert.equal(fleet.filter(placed).length, 1);
    assert.equal(orders() - ordersBefore, 1);
    const sent = httpForward.sentTo.slice(sentBefore);
    assert.ok(sent.length >= 1 && sent.every((p) => p !== placer.http), `validations went to ${sent.join(', ')}, placer ${placer.http}`);
    // new connections are spread over both workers of each instance: all of them serve it
    for (const i of fleet) {
      const serials = await Promise.all(Array.from({ length: 8 }, () => servedSerial(i.https, NAME, root)));
      assert.deepEqual(new Set(serials), new Set([serial]));
      const answer = await httpsGet(i.https, NAME, '/w', root);
      assert.equal(answer.text, 'app: /w');
    }
  });
});
