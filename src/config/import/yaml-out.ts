// Writes an imported config as YAML a person reads and edits: block style, short scalar lists
// inline, and comments carried by the values themselves (NOTES before an entry, INLINE after a key).

import { stringify } from 'yaml';

export const NOTES = Symbol('notes');
export const INLINE = Symbol('inline');

export type Value = string | number | boolean | Value[] | Obj;
export interface Obj {
  [key: string]: Value | undefined;
  /** Comment lines written before this object (before its "-" in a list, before its key in a map). */
  [NOTES]?: string[];
  /** A comment after a key's value, by key. */
  [INLINE]?: Record<string, string>;
}

export function toYaml(top: Obj): string {
  const lines: string[] = [];
  writeMap(top, 0, lines);
  return `${lines.join('\n')}\n`;
}

function isObj(v: Value | undefined): v is Obj {
  return typeof v === 'object' && !Array.isArray(v);
}

function scalar(v: string | number | boolean): string {
  if (typeof v === 'string' && /[\n\r\t]/.test(v)) return JSON.stringify(v);
  return stringify(v, { lineWidth: 0 }).trimEnd();
}

function flowList(list: Value[]): string | undefined {
  if (!list.every((v) => !isObj(v) && !Array.isArray(v))) return undefined;
  const text = `[${list.map((v) => {
    const s = scalar(v as string);
    // a plain scalar with a comma or bracket would split or end the flow list
    return /^[^"'].*[,[\]{}]/.test(s) ? JSON.stringify(String(v)) : s;
  }).join(', ')}]`;
  return text.length <= 100 ? text : undefined;
}

function comments(notes: string[] | undefined, pad: string, lines: string[]): void {
  for (const note of notes ?? []) for (const part of note.split('\n')) lines.push(`${pad}# ${part}`.trimEnd());
}

function writeMap(obj: Obj, indent: number, lines: string[], firstPrefix?: string): void {
  const pad = ' '.repeat(indent);
  let first = true;
  for (const [key, value] of Object.entries(obj)) {
    if (value === undefined) continue;
    const lead = first && firstPrefix !== undefined ? firstPrefix : pad;
    first = false;
    const inline = obj[INLINE]?.[key];
    const tail = inline ? `   # ${inline}` : '';
    if (isObj(value)) {
      if (value[NOTES]) comments(value[NOTES], pad, lines);
      lines.push(`${lead}${key}:${tail}`);
      writeMap(value, indent + 2, lines);
    } else if (Array.isArray(value)) {
      const flow = flowList(value);
      if (flow !== undefined) {
        lines.push(`${lead}${key}: ${flow}${tail}`);
        continue;
      }
      lines.push(`${lead}${key}:${tail}`);
      for (const item of value) writeItem(item, indent + 2, lines);
    } else {
      lines.push(`${lead}${key}: ${scalar(value)}${tail}`);
    }
  }
}

function writeItem(item: Value, indent: number, lines: string[]): void {
  const pad = ' '.repeat(indent);
  if (isObj(item)) {
    comments(item[NOTES], pad, lines);
    writeMap(item, indent + 2, lines, `${pad}- `);
  } else if (Array.isArray(item)) {
    lines.push(`${pad}- ${flowList(item) ?? JSON.stringify(item)}`);
  } else {
    lines.push(`${pad}- ${scalar(item)}`);
  }
}
