// The filesystem store's root folder: made at start-up (each missing level by itself, mode 0700)
// and proved writable by creating and removing a file, so that a storage edge cannot use stops it
// before anything listens, in one line: "storage ./x: cannot create the folder: ...". Node's
// recursive mkdir loops forever where a filesystem answers ENOENT for a parent that exists
// (/proc); one level at a time cannot. `edge check` asks the same questions without creating it.

import { mkdirSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { mkdtemp, rmdir, stat, unlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';

/** Starts like the store's temp files, so a probe a crash left behind is swept like them. */
const PROBE = '.tmp-write-check-';

export class StorageFolderError extends Error {
  readonly code = 'ESTORAGE';
  readonly what: string;
  readonly reason: string;
  constructor(label: string, what: string, reason: string) {
    super(`storage ${label}: cannot ${what}: ${reason}`);
    this.name = 'StorageFolderError';
    this.what = what;
    this.reason = reason;
  }
}

/** Makes `root` (absolute) if it is missing and checks it can be written; `label` is how the user wrote it. */
export function prepareFolder(label: string, root: string): void {
  const { missing } = nearestFolder(label, root, (p) => statSync(p));
  for (const dir of missing) {
    try {
      mkdirSync(dir, { mode: 0o700 });
    } catch (err) {
      if (code(err) !== 'EEXIST') throw new StorageFolderError(label, 'create the folder', createReason(err, dirname(dir)));
    }
  }
  const probe = join(root, `${PROBE}${process.pid}`);
  try {
    writeFileSync(probe, '', { flag: 'wx', mode: 0o600 });
    unlinkSync(probe);
  } catch (err) {
    throw new StorageFolderError(label, 'write in the folder', writeReason(err));
  }
}

/**
 * What `prepareFolder` would refuse ("cannot create the folder ./x: ..."), found without leaving
 * anything behind; undefined when it would work.
 */
export async function folderProblem(label: string, root: string): Promise<string | undefined> {
  let found: { existing: string | undefined; missing: string[] };
  try {
    found = await nearestFolderAsync(label, root);
  } catch (err) {
    return err instanceof StorageFolderError ? `cannot ${err.what} ${label}: ${err.reason}` : (err as Error).message;
  }
  const { existing, missing } = found;
  if (existing === undefined) return undefined;
  if (missing.length > 0) {
    // whether a folder can be made where the first missing one goes
    try {
      await rmdir(await mkdtemp(join(existing, '.edge-check-')));
      return undefined;
    } catch (err) {
      return `cannot create the folder ${label}: ${createReason(err, existing)}`;
    }
  }
  const probe = join(root, `${PROBE}check-${process.pid}`);
  try {
    await writeFile(probe, '', { flag: 'wx', mode: 0o600 });
    await unlink(probe);
    return undefined;
  } catch (err) {
    return `cannot write in the folder ${label}: ${writeReason(err)}`;
  }
}

interface Found {
  /** The nearest folder that exists, `root` itself or one above it. */
  existing: string | undefined;
  /** The folders to make, outermost first. */
  missing: string[];
}

function nearestFolder(label: string, root: string, statOf: (p: string) => { isDirectory(): boolean }): Found {
  const missing: string[] = [];
  for (let dir = root; ; dir = dirname(dir)) {
    let info;
    try {
      info = statOf(dir);
    } catch (err) {
      // ENOTDIR: a file further up, found on the way
      if (code(err) === 'ENOENT' || code(err) === 'ENOTDIR') {
        missing.unshift(dir);
        if (dirname(dir) === dir) return { existing: undefined, missing };
        continue;
      }
      throw new StorageFolderError(label, 'reach the folder', `${dir}: ${describe(err)}`);
    }
    if (!info.isDirectory()) throw new StorageFolderError(label, 'create the folder', `${dir} is a file, not a folder (ENOTDIR)`);
    return { existing: dir, missing };
  }
}

async function nearestFolderAsync(label: string, root: string): Promise<Found> {
  // the same walk with async stats; few levels, and only at `edge check`
  const infos = new Map<string, Awaited<ReturnType<typeof stat>> | Error>();
  for (let dir = root; ; dir = dirname(dir)) {
    try {
      const info = await stat(dir);
      infos.set(dir, info);
      break;
    } catch (err) {
      infos.set(dir, err as Error);
      if (dirname(dir) === dir) break;
    }
  }
  return nearestFolder(label, root, (p) => {
    const info = infos.get(p)!;
    if (info instanceof Error) throw info;
    return info;
  });
}

function createReason(err: unknown, parent: string): string {
  switch (code(err)) {
    case 'EACCES':
    case 'EPERM':
      return `permission denied in ${parent}${asWho()} (${code(err)})`;
    case 'EROFS':
      return `${parent} is on a read-only filesystem (EROFS)`;
    case 'ENOENT':
      // the parent exists (it was just found): its filesystem makes no folders (/proc, /sys)
      return `${parent} does not allow new folders (ENOENT)`;
    default:
      return describe(err);
  }
}

function writeReason(err: unknown): string {
  switch (code(err)) {
    case 'EACCES':
    case 'EPERM':
      return `permission denied${asWho()} (${code(err)})`;
    case 'EROFS':
      return 'it is on a read-only filesystem (EROFS)';
    default:
      return describe(err);
  }
}

function asWho(): string {
  return process.getuid ? ` for uid ${process.getuid()}, the user edge runs as` : '';
}

function describe(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  // "EACCES: permission denied, mkdir '/x'" → "permission denied (EACCES)"
  return e.code ? `${e.message.replace(/^[A-Z]+: /, '').replace(/, \w+ '.*'$/, '')} (${e.code})` : e.message;
}

function code(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | null)?.code;
}
