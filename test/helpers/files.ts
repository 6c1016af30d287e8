// A folder tree for static-file tests, written from a plain description, in a fresh temp dir.

import { mkdirSync, mkdtempSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

/** path → contents; a { link } is a symlink to that target, { sparse } a file of that many zero bytes that takes no disk. */
export type Tree = Record<string, string | Buffer | { link: string } | { sparse: number } | { dir: true }>;

export function writeTree(tree: Tree, base = mkdtempSync(join(tmpdir(), 'edge-files-'))): string {
  for (const [path, what] of Object.entries(tree)) {
    const full = join(base, path);
    mkdirSync(dirname(full), { recursive: true });
    if (typeof what === 'string' || Buffer.isBuffer(what)) writeFileSync(full, what);
    else if ('link' in what) symlinkSync(what.link, full);
    else if ('sparse' in what) {
      writeFileSync(full, '');
      truncateSync(full, what.sparse);
    } else mkdirSync(full, { recursive: true });
  }
  return base;
}
