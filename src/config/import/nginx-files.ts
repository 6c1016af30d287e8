// Reads an nginx config as nginx does: the main file, with every `include` replaced by the
// directives of the files it names (globs expanded, sorted, relative paths taken from nginx's
// conf folder, the one holding nginx.conf). An include that matches nothing is what nginx allows
// for a glob and an error for a plain name; both are kept as notes for the import to report.

import { existsSync, globSync, readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { parseNginx, type Directive } from './nginx-parse.ts';

export interface NginxTree {
  directives: Directive[];
  /** nginx's conf folder: relative includes start there. */
  prefix: string;
  /** The files read, main file first. */
  files: string[];
  /** Includes that matched no file: "file:line: include X: ...". */
  missing: string[];
}

export class NginxReadError extends Error {
  readonly code = 'ENGINXREAD';
}

const MAX_DEPTH = 16;

/**
 * `path` is nginx.conf, a folder holding it, or any file of a config (a site file alone): the
 * conf folder is then the nearest folder above it that holds nginx.conf, else its own folder.
 */
export function readNginx(path: string): NginxTree {
  let main = resolve(path);
  if (!existsSync(main)) throw new NginxReadError(`${path}: no such file or folder`);
  if (statSync(main).isDirectory()) {
    if (!existsSync(join(main, 'nginx.conf'))) throw new NginxReadError(`${path} holds no nginx.conf: name the file to import`);
    main = join(main, 'nginx.conf');
  }
  const prefix = confFolder(main);
  const tree: NginxTree = { directives: [], prefix, files: [], missing: [] };
  tree.directives = readFile(main, tree, 0);
  return tree;
}

function confFolder(file: string): string {
  for (let dir = dirname(file); ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'nginx.conf'))) return dir;
    if (dirname(dir) === dir) return dirname(file);
  }
}

function display(file: string, prefix: string): string {
  const rel = relative(prefix, file);
  return rel.startsWith('..') || isAbsolute(rel) ? file : rel;
}

function readFile(file: string, tree: NginxTree, depth: number): Directive[] {
  tree.files.push(file);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new NginxReadError(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code}`);
  }
  return expand(parseNginx(text, display(file, tree.prefix)), tree, depth);
}

function expand(list: Directive[], tree: NginxTree, depth: number): Directive[] {
  const out: Directive[] = [];
  for (const d of list) {
    if (d.name === 'include' && d.args.length === 1 && !d.block) {
      if (depth >= MAX_DEPTH) throw new NginxReadError(`${d.file}:${d.line}: includes nested more than ${MAX_DEPTH} deep (a loop?)`);
      const pattern = isAbsolute(d.args[0]!) ? d.args[0]! : join(tree.prefix, d.args[0]!);
      const found = /[*?[]/.test(pattern) ? globSync(pattern).sort() : existsSync(pattern) ? [pattern] : [];
      const files = found.filter((f) => statSync(f).isFile());
      if (files.length === 0) tree.missing.push(`${d.file}:${d.line}: include ${d.args[0]}: no such file${/[*?[]/.test(pattern) ? ' matches' : ''}, nothing included`);
      for (const f of files) out.push(...readFile(f, tree, depth + 1));
      continue;
    }
    out.push(d.block ? { ...d, block: expand(d.block, tree, depth) } : d);
  }
  return out;
}
