// Targeted cache control (RFC 9213): a field such as CDN-Cache-Control holds Cache-Control
// directives meant for caches like edge's. When it has a valid, non-empty value, edge's cache takes
// its directives and ignores the response's Cache-Control and Expires (RFC 9213 2.2); when it is
// absent, empty or does not parse, Cache-Control applies as before. The field is a Structured
// Fields Dictionary (RFC 8941 3.2), so it is parsed as one: an error anywhere drops the whole field,
// where a Cache-Control parser would guess.

import { parseCacheControl, type Directives } from './directives.ts';

export interface ResponseDirectives {
  directives: Directives;
  /** The targeted field decided: Expires is to be ignored too, and the field not forwarded. */
  targeted: boolean;
}

/**
 * The directives edge's cache follows for a response: those of `targetedValue` (the configured
 * targeted field's value, lines joined with commas) when valid, else Cache-Control's.
 */
export function responseDirectives(cacheControl: string | readonly string[] | undefined, targetedValue: string | undefined): ResponseDirectives {
  const targeted = targetedValue === undefined ? undefined : parseTargeted(targetedValue);
  if (targeted !== undefined) return { directives: targeted, targeted: true };
  return { directives: parseCacheControl(cacheControl), targeted: false };
}

/**
 * A targeted field's value as directives; undefined when empty or not a valid Dictionary. Boolean
 * true is a bare directive, false leaves it out; Integers, Decimals, Tokens and Strings become the
 * directive's text, as Cache-Control would carry them. Inner lists and byte sequences, which no
 * cache directive takes, are parse errors.
 */
export function parseTargeted(text: string): Directives | undefined {
  const out = new Map<string, string | true>();
  const n = text.length;
  let i = 0;
  while (i < n && text[i] === ' ') i++;
  if (i === n) return undefined;
  for (;;) {
    const keyEnd = keyAt(text, i);
    if (keyEnd === i) return undefined;
    const name = text.slice(i, keyEnd);
    i = keyEnd;
    let value: string | boolean = true;
    if (text[i] === '=') {
      const item = bareItem(text, i + 1);
      if (item === undefined) return undefined;
      [value, i] = item;
    }
    // parameters are allowed on any member; no directive uses them
    while (text[i] === ';') {
      i++;
      while (text[i] === ' ') i++;
      const end = keyAt(text, i);
      if (end === i) return undefined;
      i = end;
      if (text[i] === '=') {
        const item = bareItem(text, i + 1);
        if (item === undefined) return undefined;
        i = item[1];
      }
    }
    // a repeated key: the last one counts in a Dictionary
    out.delete(name);
    if (value !== false) out.set(name, value);
    while (i < n && (text[i] === ' ' || text[i] === '\t')) i++;
    if (i === n) return out;
    if (text[i] !== ',') return undefined;
    i++;
    while (i < n && (text[i] === ' ' || text[i] === '\t')) i++;
    if (i === n) return undefined; // a trailing comma
  }
}

/** The end of the sf-key at `i` (lcalpha or "*", then lcalpha, digits, "_-.*"); `i` when there is none. */
function keyAt(text: string, i: number): number {
  const c = text.charCodeAt(i);
  if (!(c >= 97 && c <= 122) && c !== 42) return i;
  let j = i + 1;
  while (j < text.length) {
    const d = text.charCodeAt(j);
    if ((d >= 97 && d <= 122) || (d >= 48 && d <= 57) || d === 95 || d === 45 || d === 46 || d === 42) j++;
    else break;
  }
  return j;
}

const NUMBER = /^-?(\d{1,15}|\d{1,12}\.\d{1,3})(?![\d.])/;
// tchar, ":" and "/" after a first ALPHA or "*"
const TOKEN = /^[A-Za-z*][!#$%&'*+\-.^_`|~0-9A-Za-z:/]*/;

/** The bare item at `i` and the index after it; undefined when there is none. */
function bareItem(text: string, i: number): [string | boolean, number] | undefined {
  const c = text[i];
  if (c === '?') {
    if (text[i + 1] === '1') return [true, i + 2];
    if (text[i + 1] === '0') return [false, i + 2];
    return undefined;
  }
  if (c === '"') {
    let v = '';
    for (let j = i + 1; j < text.length; j++) {
      const ch = text[j]!;
      if (ch === '"') return [v, j + 1];
      if (ch === '\\') {
        const next = text[++j];
        if (next !== '"' && next !== '\\') return undefined;
        v += next;
      } else {
        const code = ch.charCodeAt(0);
        if (code < 0x20 || code > 0x7e) return undefined;
        v += ch;
      }
    }
    return undefined;
  }
  const rest = text.slice(i);
  const match = NUMBER.exec(rest) ?? TOKEN.exec(rest);
  return match === null ? undefined : [match[0], i + match[0].length];
}
