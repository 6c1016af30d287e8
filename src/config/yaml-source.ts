// One YAML file read with positions kept, so any value can be traced back to its line and column.

import { readFileSync } from 'node:fs';
import { relative, isAbsolute } from 'node:path';
import { LineCounter, parseDocument, isMap, isScalar, isPair, type Document, type Node as YamlNode } from 'yaml';
import type { Problem } from './errors.ts';

export class YamlSource {
  readonly file: string;
  readonly display: string;
  readonly data: unknown;
  readonly problems: Problem[] = [];
  private readonly doc: Document;
  private readonly lines: LineCounter;

  constructor(file: string, text?: string) {
    this.file = file;
    const rel = relative(process.cwd(), file);
    this.display = rel !== '' && !rel.startsWith('..') && !isAbsolute(rel) ? rel : file;
    this.lines = new LineCounter();
    const source = text ?? readFileSync(file, 'utf8');
    this.doc = parseDocument(source, { lineCounter: this.lines, prettyErrors: false, uniqueKeys: true });
    // the first syntax error says it all: the parser's later ones follow from it (a tab in the
    // indentation gave nine)
    for (const err of this.doc.errors.slice(0, 1)) {
      // indentation errors are reported at the start of the line; the item at fault is past the spaces
      let offset = err.pos[0];
      while (source[offset] === ' ') offset++;
      const at = this.lines.linePos(offset);
      const message = err.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
      this.problems.push({ where: `${this.display}:${at.line}:${at.col}`, message: `YAML: ${message}`, severity: 'error' });
    }
    this.data = this.problems.length > 0 ? undefined : (this.doc.toJS({ maxAliasCount: 100 }) ?? {});
  }

  /** file:line:col of the value at `path`, or of its deepest existing ancestor. */
  locate(path: readonly PropertyKey[], opts: { key?: string } = {}): string {
    let node: unknown = this.doc.contents;
    let offset = (node as YamlNode | null)?.range?.[0] ?? 0;
    for (const key of path) {
      const next = (node as { get?: (k: unknown, keep: boolean) => unknown } | null)?.get?.(key, true);
      if (next === undefined || next === null || typeof next !== 'object') break;
      node = next;
      offset = (node as YamlNode).range?.[0] ?? offset;
    }
    if (opts.key !== undefined && isMap(node)) {
      const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && p.key.value === opts.key);
      const keyNode = pair?.key as YamlNode | undefined;
      if (keyNode?.range) offset = keyNode.range[0];
    }
    const pos = this.lines.linePos(offset);
    return `${this.display}:${pos.line}:${pos.col}`;
  }
}
