// What the file system says about paths, cached briefly with a bound: stat results (including
// "not there") for a second, and the bytes of files up to 1 MiB read once and served from
// memory (a read through the libuv thread pool per 1 MiB chunk costs more than the copy).
// Shared by every static route of the process. All I/O is asynchronous; concurrent misses on one
// path share one stat.

import { open, realpath, stat, type FileHandle } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import { extname } from 'node:path';
import { LRUCache } from 'lru-cache';
import mime from 'mime-types';
import type { Encoding } from '../config/static-schema.ts';

/** How long a stat result is trusted: a file changed on disk is seen within this time. */
export const STAT_TTL_MS = 1000;
/** Files up to this size are read whole and kept in memory (within MAX_BYTES); larger ones are streamed. */
export const SMALL_FILE = 1024 * 1024;
const MAX_ENTRIES = 10_000;
const MAX_BYTES = 64 * 1024 * 1024;
/** What an entry without a body is counted as against MAX_BYTES. */
const ENTRY_COST = 256;

/** Precompressed files next to FILE, in order of preference when a client takes several equally: brotli's highest levels make the smallest files. */
export const SIDECAR_ORDER: readonly Encoding[] = ['br', 'zstd', 'gzip'];

export const SUFFIX: Readonly<Record<Encoding, string>> = { br: '.br', zstd: '.zst', gzip: '.gz' };

export interface FileEntry {
  readonly kind: 'file';
  /** The path with every symlink resolved, to check it stays under the root. */
  readonly real: string;
  readonly size: number;
  /** Modification time, whole milliseconds. */
  readonly mtime: number;
  /** Strong ETag: modification time and size. */
  readonly etag: string;
  /** Modification time in whole seconds, and as an HTTP date. */
  readonly modified: number;
  readonly lastModified: string;
  /** Content-Type by the file's extension. */
  readonly type: string;
  /** The file's bytes, for small files once read. */
  readonly body: Buffer | undefined;
  /** The precompressed sidecars next to it (FILE.zst, ...), once looked for. */
  sidecars: readonly Encoding[] | undefined;
}

export type Entry =
  | FileEntry
  | { readonly kind: 'dir'; readonly real: string }
  | { readonly kind: 'missing' }
  | { readonly kind: 'denied' };

const MISSING: Entry = { kind: 'missing' };
const DENIED: Entry = { kind: 'denied' };

export class FileCache {
  private readonly lru = new LRUCache<string, Entry>({
    max: MAX_ENTRIES,
    maxSize: MAX_BYTES,
    sizeCalculation: (e) => (e.kind === 'file' && e.body !== undefined ? e.body.length + ENTRY_COST : ENTRY_COST),
    ttl: STAT_TTL_MS,
    // stale entries are replaced when next asked for: a timer per entry costs more than it
    // saves, and a stale file entry lends its bytes to the fresh one if the file is unchanged
    ttlAutopurge: false,
    noDeleteOnStaleGet: true,
  });
  private readonly pending = new Map<string, Promise<Entry>>();

  /** What is at `path` (absolute), from the cache or from one stat and realpath. */
  lookup(path: string): Entry | Promise<Entry> {
    const hit = this.lru.get(path);
    if (hit !== undefined) return hit;
    let p = this.pending.get(path);
    if (p === undefined) {
      p = this.fetch(path).finally(() => this.pending.delete(path));
      this.pending.set(path, p);
    }
    return p;
  }

  /** The sidecars of a file that exist as files (their own entries still say where they lead). */
  sidecars(path: string, entry: FileEntry): readonly Encoding[] | Promise<readonly Encoding[]> {
    return entry.sidecars ?? this.findSidecars(path, entry);
  }

  private async findSidecars(path: string, entry: FileEntry): Promise<readonly Encoding[]> {
    const found = await Promise.all(SIDECAR_ORDER.map(async (coding) => ((await this.lookup(path + SUFFIX[coding])).kind === 'file' ? coding : undefined)));
    entry.sidecars = found.filter((c) => c !== undefined);
    return entry.sidecars;
  }

  /**
   * A small file's entry with its bytes, read from one open file (so bytes, size and time agree).
   * A file that changed size while read is left to the streaming path.
   */
  async withBody(path: string, entry: FileEntry): Promise<Entry> {
    if (entry.body !== undefined) return entry;
    const handle = await open(path, 'r');
    try {
      const st = await handle.stat();
      if (!st.isFile()) return MISSING;
      const fresh = fileEntry(entry.real, path, st, st.size <= SMALL_FILE ? await readExactly(handle, st.size) : undefined);
      fresh.sidecars = entry.sidecars;
      this.lru.set(path, fresh);
      return fresh;
    } finally {
      await handle.close();
    }
  }

  /** An open file and its entry as of now, for streaming; undefined when it is no longer a file. */
  async open(path: string, entry: FileEntry): Promise<{ handle: FileHandle; entry: FileEntry } | undefined> {
    const handle = await open(path, 'r');
    try {
      const st = await handle.stat();
      if (!st.isFile()) {
        await handle.close();
        return undefined;
      }
      const fresh = st.size === entry.size && Math.trunc(st.mtimeMs) === entry.mtime ? entry : fileEntry(entry.real, path, st, undefined);
      if (fresh !== entry) this.lru.set(path, fresh);
      return { handle, entry: fresh };
    } catch (err) {
      await handle.close();
      throw err;
    }
  }

  private async fetch(path: string): Promise<Entry> {
    let st: Stats;
    let real: string;
    try {
      st = await stat(path);
      real = await realpath(path);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      // ENOTDIR: a file used as a folder ("/app.js/x"); ELOOP: a symlink cycle
      if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'ENAMETOOLONG' || code === 'ELOOP') return this.remember(path, MISSING);
      if (code === 'EACCES' || code === 'EPERM') return this.remember(path, DENIED);
      throw err;
    }
    if (st.isDirectory()) return this.remember(path, { kind: 'dir', real });
    // sockets, FIFOs and devices are not files to serve (a FIFO would block a read forever)
    if (!st.isFile()) return this.remember(path, MISSING);
    const stale = this.lru.peek(path, { allowStale: true });
    const unchanged = stale?.kind === 'file' && stale.real === real && stale.size === st.size && stale.mtime === Math.trunc(st.mtimeMs);
    return this.remember(path, fileEntry(real, path, st, unchanged ? stale.body : undefined));
  }

  private remember(path: string, entry: Entry): Entry {
    this.lru.set(path, entry);
    return entry;
  }
}

function fileEntry(real: string, path: string, st: Stats, body: Buffer | undefined): FileEntry {
  const mtime = Math.trunc(st.mtimeMs);
  return {
    kind: 'file',
    real,
    size: st.size,
    mtime,
    etag: `"${mtime.toString(16)}-${st.size.toString(16)}"`,
    modified: Math.floor(mtime / 1000),
    lastModified: new Date(mtime).toUTCString(),
    type: mime.contentType(extname(path)) || 'application/octet-stream',
    body,
    sidecars: undefined,
  };
}

/** Exactly `size` bytes from the start, or undefined if the file is shorter now. */
async function readExactly(handle: FileHandle, size: number): Promise<Buffer | undefined> {
  const buffer = Buffer.allocUnsafe(size);
  let done = 0;
  while (done < size) {
    const { bytesRead } = await handle.read(buffer, done, size - done, done);
    if (bytesRead === 0) return undefined;
    done += bytesRead;
  }
  return buffer;
}

/** The one cache of the process. */
export const files = new FileCache();
