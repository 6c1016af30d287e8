// nginx values in edge's words: sizes, times, variables in redirect targets, proxy_pass targets.

import type { Directive } from './nginx-parse.ts';

/** nginx sizes (512, 64k, 10m, 1g; 1024-based) as edge writes them. */
export function size(text: string): string | undefined {
  const m = /^(\d+)([kmg]?)$/i.exec(text);
  if (!m) return undefined;
  const unit = m[2]!.toLowerCase();
  return unit === '' ? m[1]! : `${m[1]}${unit === 'k' ? 'KiB' : unit === 'm' ? 'MiB' : 'GiB'}`;
}

const TIME_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** nginx times (30, 30s, 1m30s, 500ms, 1h) as edge writes them. */
export function time(text: string): string | undefined {
  if (/^\d+$/.test(text)) return `${text}s`;
  let ms = 0;
  const re = /(\d+)(ms|s|m|h|d|w)/y;
  let at = 0;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    ms += Number(m[1]) * TIME_UNITS[m[2]!]!;
    at = re.lastIndex;
  }
  if (at !== text.length || text === '') return undefined;
  return ms % 1000 !== 0 ? `${ms}ms` : `${ms / 1000}s`;
}

const VARIABLES: Record<string, string> = {
  host: '{host}', http_host: '{host}', server_name: '{host}', request_uri: '{uri}', uri: '{path}', document_uri: '{path}',
};

/** A redirect target with nginx variables as edge's placeholders, or the first variable edge lacks. */
export function target(text: string): { to: string } | { missing: string } {
  let missing: string | undefined;
  const to = text.replace(/\$(?:\{(\w+)\}|(\w+))/g, (whole, a: string | undefined, b: string | undefined) => {
    const name = (a ?? b)!;
    if (VARIABLES[name]) return VARIABLES[name];
    missing ??= `$${name}`;
    return whole;
  });
  return missing ? { missing } : { to };
}

export type ProxyTarget =
  | { kind: 'address'; address: string; uri: string }
  | { kind: 'name'; name: string; uri: string }
  | { kind: 'bad'; why: string };

/** proxy_pass URL → an edge upstream address (or a pool name) and the URI part after it. */
export function proxyTarget(url: string): ProxyTarget {
  if (url.includes('$')) return { kind: 'bad', why: 'a target built from variables cannot be translated' };
  const unix = /^http:\/\/unix:([^:]+):?(.*)$/i.exec(url);
  if (unix) return { kind: 'address', address: `unix:${unix[1]}`, uri: unix[2]! };
  const m = /^(https?):\/\/(\[[^\]]+\]|[^/:]+)(?::(\d+))?(.*)$/i.exec(url);
  if (!m) return { kind: 'bad', why: 'not an http:// URL' };
  if (m[1]!.toLowerCase() === 'https') return { kind: 'address', address: `https://${m[2]}:${m[3] ?? '443'}`, uri: m[4]! };
  if (m[3] === undefined && !/^[\d.]+$|^\[/.test(m[2]!) && m[2] !== 'localhost') return { kind: 'name', name: m[2]!, uri: m[4]! };
  return { kind: 'address', address: `${m[2]}:${m[3] ?? '80'}`, uri: m[4]! };
}

/** The last directive named `name` in a list (nginx takes the last of repeated simple settings). */
export function last(list: readonly Directive[] | undefined, name: string): Directive | undefined {
  if (!list) return undefined;
  for (let i = list.length - 1; i >= 0; i--) if (list[i]!.name === name) return list[i];
  return undefined;
}
