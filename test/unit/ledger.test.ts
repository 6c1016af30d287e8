// The failure ledger: the retry ladder across recorded failures, Retry-After, clearing on success,
// recovery from an unreadable entry, and the mayAttempt gate, over an in-memory Storage.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Lock, Storage } from '../../src/tls/storage/storage.ts';
import { Ledger, mayAttempt } from '../../src/tls/ledger.ts';

const MIN = 60_000;
const D = 24 * 60 * MIN;
const KEY = 'acme-v02.api.letsencrypt.org-directory/example.com/ledger.json';

class MemoryStorage implements Storage {
  readonly description = 'memory';
  readonly data = new Map<string, Buffer>();
  async get(key: string): Promise<Buffer | undefined> { return this.data.get(key); }
  async put(key: string, value: Buffer | string): Promise<void> { this.data.set(key, Buffer.from(value)); }
  async delete(key: string): Promise<void> { this.data.delete(key); }
  async list(prefix: string): Promise<string[]> { return [...this.data.keys()].filter((k) => k.startsWith(prefix)).sort(); }
  async lock(name: string): Promise<Lock> { return { name, release: async () => {} }; }
}

function setup() {
  const storage = new MemoryStorage();
  const warnings: string[] = [];
  return { storage, warnings, ledger: new Ledger(storage, (m) => warnings.push(m)) };
}

const now = new Date('2026-05-01T10:00:00.000Z');
const plus = (ms: number, from = now) => new Date(from.getTime() + ms).toISOString();

describe('Ledger', () => {
  it('has a zero entry for a name that never failed', async () => {
    const { ledger, warnings } = setup();
    assert.deepEqual(await ledger.get(KEY), { failures: 0 });
    assert.deepEqual(warnings, []);
  });

  it('schedules failures 1..5 on the ladder: 1 min, 10 min, 100 min, a day, a day', async () => {
    const { ledger, storage } = setup();
    const ladder = [MIN, 10 * MIN, 100 * MIN, D, D];
    let t = now;
    for (const [i, step] of ladder.entries()) {
      const entry = await ledger.recordFailure(KEY, `attempt ${i + 1} failed`, t);
      const want = { failures: i + 1, lastError: `attempt ${i + 1} failed`, lastAttempt: t.toISOString(), nextAttempt: plus(step, t) };
      assert.deepEqual(entry, want);
      // Persisted, not just returned: a new Ledger on the same storage (a restart) sees it.
      assert.deepEqual(await new Ledger(storage).get(KEY), want);
      t = new Date(entry.nextAttempt!);
    }
  });

  it('keeps to a Retry-After longer than the rung', async () => {
    const { ledger } = setup();
    const entry = await ledger.recordFailure(KEY, 'rateLimited', now, 3 * 3_600_000);
    assert.equal(entry.nextAttempt, plus(3 * 3_600_000));
  });

  it('keeps to the rung when Retry-After is shorter', async () => {
    const { ledger } = setup();
    await ledger.recordFailure(KEY, 'x', now);
    const entry = await ledger.recordFailure(KEY, 'y', now, 5_000);
    assert.equal(entry.failures, 2);
    assert.equal(entry.nextAttempt, plus(10 * MIN));
  });

  it('forgets everything on success', async () => {
    const { ledger, storage } = setup();
    await ledger.recordFailure(KEY, 'x', now);
    await ledger.recordFailure(KEY, 'y', now);
    await ledger.recordSuccess(KEY);
    assert.equal(storage.data.has(KEY), false);
    assert.deepEqual(await ledger.get(KEY), { failures: 0 });
    // The next failure starts the ladder again.
    assert.equal((await ledger.recordFailure(KEY, 'z', now)).nextAttempt, plus(MIN));
  });

  it('keeps entries for different keys apart', async () => {
    const { ledger } = setup();
    await ledger.recordFailure(KEY, 'x', now);
    await ledger.recordFailure(KEY, 'x', now);
    const other = await ledger.recordFailure('other-ca/example.com/ledger.json', 'y', now);
    assert.equal(other.failures, 1);
    assert.equal((await ledger.get(KEY)).failures, 2);
  });

  const corrupt: Array<[string, string]> = [
    ['truncated JSON', '{"failures": 3, "nextAtt'],
    ['not an object', '[3]'],
    ['a negative count', '{"failures": -1}'],
    ['a fractional count', '{"failures": 1.5}'],
    ['a count as a string', '{"failures": "3"}'],
    ['an unreadable date', '{"failures": 3, "nextAttempt": "next tuesday"}'],
    ['a non-string error', '{"failures": 3, "lastError": {"detail": "x"}}'],
  ];
  for (const [name, content] of corrupt) {
    it(`recovers from ${name} with a zero entry and a warning`, async () => {
      const { ledger, storage, warnings } = setup();
      storage.data.set(KEY, Buffer.from(content));
      assert.deepEqual(await ledger.get(KEY), { failures: 0 });
      assert.equal(warnings.length, 1);
      assert.match(warnings[0]!, new RegExp(`${KEY}.*memory`));
      // And the next failure overwrites it with a good entry.
      assert.equal((await ledger.recordFailure(KEY, 'x', now)).failures, 1);
      assert.equal(JSON.parse(storage.data.get(KEY)!.toString()).failures, 1);
    });
  }

  it('recovers without a warning callback', async () => {
    const storage = new MemoryStorage();
    storage.data.set(KEY, Buffer.from('garbage'));
    assert.deepEqual(await new Ledger(storage).get(KEY), { failures: 0 });
  });
});

describe('mayAttempt', () => {
  it('allows an entry with no nextAttempt', () => {
    assert.equal(mayAttempt({ failures: 0 }, now), true);
  });

  it('refuses before nextAttempt and allows from it on', async () => {
    const { ledger } = setup();
    const entry = await ledger.recordFailure(KEY, 'x', now);
    assert.equal(mayAttempt(entry, now), false);
    assert.equal(mayAttempt(entry, new Date(now.getTime() + MIN - 1)), false);
    assert.equal(mayAttempt(entry, new Date(now.getTime() + MIN)), true);
    assert.equal(mayAttempt(entry, new Date(now.getTime() + D)), true);
  });

  it('holds back for the whole of a long Retry-After', async () => {
    const { ledger } = setup();
    const entry = await ledger.recordFailure(KEY, 'x', now, 2 * D);
    assert.equal(mayAttempt(entry, new Date(now.getTime() + D)), false);
    assert.equal(mayAttempt(entry, new Date(now.getTime() + 2 * D)), true);
  });
});
