// The behaviour every Storage implementation must share, as one describe() block: the filesystem
// store and the Redis store (against a live server) both run it, certificate pairs included.

import { afterEach, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { LockTimeoutError, StorageKeyError, type Storage } from '../../src/tls/storage/storage.ts';
import { certificatePairConformance } from './cert-pair-conformance.ts';

export interface StorageUnderTest {
  storage: Storage;
  cleanup(): Promise<void>;
}

const ALL_BYTES = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
const BAD_KEYS = ['../x', '/abs', 'a//b', 'a/./b', '', 'a\\b', 'a/..', 'a/', 'a\0b'];

export function storageConformance(name: string, make: () => Promise<StorageUnderTest>): void {
  describe(`Storage conformance: ${name}`, () => {
    let storage: Storage;
    let cleanup: () => Promise<void>;
    beforeEach(async () => {
      ({ storage, cleanup } = await make());
    });
    afterEach(async () => {
      await cleanup();
    });

    it('has a description', () => {
      assert.equal(typeof storage.description, 'string');
      assert.notEqual(storage.description, '');
    });

    it('get of a missing key is undefined, also inside a missing folder and for a folder', async () => {
      assert.equal(await storage.get('missing'), undefined);
      assert.equal(await storage.get('no/such/folder/key'), undefined);
      await storage.put('folder/key', 'v');
      assert.equal(await storage.get('folder'), undefined);
      assert.equal(await storage.get('folder/key/below'), undefined);
    });

    it('round-trips binary data with every byte value', async () => {
      await storage.put('acme/example.com/cert.der', ALL_BYTES);
      const got = await storage.get('acme/example.com/cert.der');
      assert.ok(Buffer.isBuffer(got));
      assert.deepEqual(got, ALL_BYTES);
    });

    it('stores strings as UTF-8, and an empty value is not a missing one', async () => {
      await storage.put('text', 'héllo ✓\n-----BEGIN CERTIFICATE-----\n');
      assert.equal((await storage.get('text'))?.toString('utf8'), 'héllo ✓\n-----BEGIN CERTIFICATE-----\n');
      await storage.put('empty', '');
      assert.deepEqual(await storage.get('empty'), Buffer.alloc(0));
    });

    it('overwrites, leaving nothing of a longer old value', async () => {
      await storage.put('k', 'a much longer first value');
      await storage.put('k', 'short');
      assert.equal((await storage.get('k'))?.toString(), 'short');
    });

    it('deletes a key, and deleting a missing one is no error', async () => {
      await storage.put('d/one', '1');
      await storage.put('d/two', '2');
      await storage.delete('d/one');
      assert.equal(await storage.get('d/one'), undefined);
      assert.deepEqual(await storage.list('d/'), ['d/two']);
      await storage.delete('d/one');
      await storage.delete('never/was');
      assert.equal((await storage.get('d/two'))?.toString(), '2');
    });

    it('lists keys by prefix, recursively and sorted', async () => {
      const keys = [
        'other/z', 'acme/example.org/cert.pem', 'acme/example.com/key.pem', 'accounts/a.json',
        'acme/example.com/cert.pem', 'acme/exa/x', 'acme/example.com/sub/deep.json', 'top',
      ];
      for (const k of keys) await storage.put(k, k);
      assert.deepEqual(await storage.list(''), [...keys].sort());
      assert.deepEqual(await storage.list('acme/'), [
        'acme/exa/x', 'acme/example.com/cert.pem', 'acme/example.com/key.pem',
        'acme/example.com/sub/deep.json', 'acme/example.org/cert.pem',
      ]);
      assert.deepEqual(await storage.list('acme/example.com/'), [
        'acme/example.com/cert.pem', 'acme/example.com/key.pem', 'acme/example.com/sub/deep.json',
      ]);
      assert.deepEqual(await storage.list('acme/example.'), [
        'acme/example.com/cert.pem', 'acme/example.com/key.pem',
        'acme/example.com/sub/deep.json', 'acme/example.org/cert.pem',
      ]);
      assert.deepEqual(await storage.list('ac'), [...keys].filter((k) => k.startsWith('ac')).sort());
      assert.deepEqual(await storage.list('acme/example.com/cert.pem'), ['acme/example.com/cert.pem']);
      assert.deepEqual(await storage.list('acme/example.com/cert.pem/'), []);
      assert.deepEqual(await storage.list('nope/'), []);
      assert.deepEqual(await storage.list('acme/example.net'), []);
    });

    it('never lists anything but stored keys, even while puts are in flight', async () => {
      const keys = Array.from({ length: 20 }, (_, i) => `busy/k${String(i).padStart(2, '0')}`);
      let writing = true;
      const puts = Promise.all(keys.map((k) => storage.put(k, ALL_BYTES))).finally(() => { writing = false; });
      while (writing) {
        for (const k of await storage.list('busy/')) assert.ok(keys.includes(k), `unexpected key ${k}`);
      }
      await puts;
      assert.deepEqual(await storage.list(''), keys);
    });

    it('refuses bad keys with StorageKeyError, as a rejection', async () => {
      for (const key of BAD_KEYS) {
        await assert.rejects(() => storage.get(key), StorageKeyError, `get ${JSON.stringify(key)}`);
        await assert.rejects(() => storage.put(key, 'x'), StorageKeyError, `put ${JSON.stringify(key)}`);
        await assert.rejects(() => storage.delete(key), StorageKeyError, `delete ${JSON.stringify(key)}`);
      }
      for (const prefix of ['../', '/abs/', 'a//', 'a/../']) {
        await assert.rejects(() => storage.list(prefix), StorageKeyError, `list ${JSON.stringify(prefix)}`);
      }
      assert.deepEqual(await storage.list(''), []);
    });

    it('a second lock on a name waits until the first is released', async () => {
      const events: string[] = [];
      const first = await storage.lock('issue/example.com');
      assert.equal(first.name, 'issue/example.com');
      events.push('first acquired');
      const second = storage.lock('issue/example.com').then((l) => {
        events.push('second acquired');
        return l;
      });
      // Time for a wrongly granted second lock to show up in the events before the release.
      await sleep(300);
      events.push('first releasing');
      await first.release();
      await (await second).release();
      assert.deepEqual(events, ['first acquired', 'first releasing', 'second acquired']);
    });

    it('locks on different names do not block each other', async () => {
      const a = await storage.lock('issue/example.com');
      const b = await storage.lock('issue_example.com', { waitMs: 2000 });
      const c = await storage.lock('issue/example.org', { waitMs: 2000 });
      await Promise.all([a.release(), b.release(), c.release()]);
    });

    it('gives up after waitMs with LockTimeoutError', async () => {
      const held = await storage.lock('renew');
      await assert.rejects(() => storage.lock('renew', { waitMs: 300 }), (err: unknown) => {
        assert.ok(err instanceof LockTimeoutError);
        assert.equal(err.code, 'ELOCKTIMEOUT');
        return true;
      });
      await held.release();
      const again = await storage.lock('renew', { waitMs: 0 });
      await again.release();
    });

    it('releasing twice is harmless and never frees the next holder', async () => {
      const first = await storage.lock('twice');
      await first.release();
      await first.release();
      const second = await storage.lock('twice', { waitMs: 2000 });
      await first.release();
      await assert.rejects(() => storage.lock('twice', { waitMs: 300 }), LockTimeoutError);
      await second.release();
    });

    it('concurrent puts to one key leave exactly one of the values', async () => {
      // Large, distinct values: a torn or interleaved write would mix fill bytes or lengths.
      const values = Array.from({ length: 16 }, (_, i) => Buffer.alloc(256 * 1024 + i * 1000, i + 1));
      const seen: (Buffer | undefined)[] = [];
      let writing = true;
      const puts = Promise.all(values.map((v) => storage.put('race', v))).finally(() => { writing = false; });
      while (writing) seen.push(await storage.get('race'));
      await puts;
      seen.push(await storage.get('race'));
      for (const got of seen) {
        if (got === undefined) continue;
        assert.ok(values.some((v) => v.equals(got)), `a read saw a mix: ${got.length} bytes starting ${got[0]}`);
      }
      assert.notEqual(seen.at(-1), undefined);
    });

    certificatePairConformance(() => storage);
  });
}
