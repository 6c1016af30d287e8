// Where stored responses live: a small interface (get, set, delete, purge by URL or prefix, size)
// with one implementation on lru-cache, bounded by bytes. Other stores (Redis, disk) would plug in
// behind the same interface.

import { LRUCache } from 'lru-cache';
import { entrySize, type CacheEntry } from './entry.ts';

export interface CacheStore {
  get(key: string): CacheEntry | undefined;
  set(entry: CacheEntry): void;
  /** Vary header names recorded for a primary key. */
  varyOf(primary: string): readonly string[] | undefined;
  setVary(primary: string, names: readonly string[]): void;
  /** Removes entries stored for `url` (or every URL starting with it); returns how many. */
  purge(url: string, prefix: boolean): number;
  readonly bytes: number;
  readonly count: number;
}

export class MemoryStore implements CacheStore {
  private readonly lru: LRUCache<string, CacheEntry>;
  private readonly vary: LRUCache<string, readonly string[]>;
  /** url → keys stored for it, so purge by URL needs no scan. */
  private readonly byUrl = new Map<string, Set<string>>();

  constructor(maxSize: number, maxObjectSize: number) {
    this.lru = new LRUCache<string, CacheEntry>({
      maxSize,
      maxEntrySize: Math.min(maxSize, maxObjectSize + 64 * 1024),
      sizeCalculation: entrySize,
      dispose: (entry, key) => this.unindex(entry.url, key),
    });
    // bounded apart from the bodies: a name list per primary key that ever varied
    this.vary = new LRUCache({ max: 100_000 });
  }

  get(key: string): CacheEntry | undefined {
    return this.lru.get(key);
  }

  set(entry: CacheEntry): void {
    const prior = this.lru.peek(entry.key);
    if (prior && prior.url !== entry.url) this.unindex(prior.url, entry.key);
    this.lru.set(entry.key, entry, { noDisposeOnSet: true });
    if (!this.lru.has(entry.key)) return; // over maxEntrySize
    let keys = this.byUrl.get(entry.url);
    if (!keys) this.byUrl.set(entry.url, (keys = new Set()));
    keys.add(entry.key);
  }

  varyOf(primary: string): readonly string[] | undefined {
    return this.vary.get(primary);
  }

  setVary(primary: string, names: readonly string[]): void {
    this.vary.set(primary, names);
  }

  purge(url: string, prefix: boolean): number {
    const urls = prefix ? [...this.byUrl.keys()].filter((u) => u.startsWith(url)) : this.byUrl.has(url) ? [url] : [];
    let n = 0;
    for (const u of urls) {
      for (const key of [...(this.byUrl.get(u) ?? [])]) if (this.lru.delete(key)) n++;
      this.byUrl.delete(u);
    }
    return n;
  }

  get bytes(): number {
    return this.lru.calculatedSize;
  }

  get count(): number {
    return this.lru.size;
  }

  private unindex(url: string, key: string): void {
    const keys = this.byUrl.get(url);
    if (!keys) return;
    keys.delete(key);
    if (keys.size === 0) this.byUrl.delete(url);
  }
}
