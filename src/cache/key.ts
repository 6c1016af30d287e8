// The cache key: a template compiled once per route (`{scheme}://{host}{uri}` by default; HEAD
// shares GET's entries), and the request URL purge and invalidation go by.

import type { TLSSocket } from 'node:tls';
import { requestHost, type EdgeRequest } from '../server/response.ts';

type Part = string | ((req: EdgeRequest) => string);

export const KEY_FIELDS = ['scheme', 'host', 'uri', 'path', 'query'] as const;
export const KEY_PREFIXES = ['header.', 'cookie.'] as const;

export function scheme(req: EdgeRequest): string {
  const pseudo = req.headers[':scheme'];
  if (typeof pseudo === 'string') return pseudo;
  return (req.socket as TLSSocket | undefined)?.encrypted === true ? 'https' : 'http';
}

/** The Host without its port, lower-cased, as nginx's $host: sites ignore the port too. */
export function host(req: EdgeRequest): string {
  const h = (requestHost(req) ?? '').toLowerCase();
  const colon = h.lastIndexOf(':');
  return colon < 0 || h.endsWith(']') ? h : h.slice(0, colon);
}

/** scheme://host/path?query */
export function requestUrl(req: EdgeRequest): string {
  return `${scheme(req)}://${host(req)}${req.url ?? '/'}`;
}

export function cookie(header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  for (const pair of header.split(';')) {
    const eq = pair.indexOf('=');
    if (eq > 0 && pair.slice(0, eq).trim() === name) return pair.slice(eq + 1).trim();
  }
  return undefined;
}

function field(name: string): Part {
  switch (name) {
    case 'scheme': return scheme;
    case 'host': return host;
    case 'uri': return (req) => req.url ?? '/';
    case 'path': return (req) => (req.url ?? '/').split('?')[0]!;
    case 'query': return (req) => {
      const url = req.url ?? '/';
      const q = url.indexOf('?');
      return q < 0 ? '' : url.slice(q + 1);
    };
  }
  if (name.startsWith('header.')) {
    const header = name.slice(7).toLowerCase();
    return (req) => {
      const v = req.headers[header];
      return Array.isArray(v) ? v.join(',') : v ?? '';
    };
  }
  const c = name.slice(7);
  return (req) => cookie(req.headers.cookie, c) ?? '';
}

/** The template's unknown {fields}, for the config check. */
export function unknownKeyFields(template: string): string[] {
  const bad: string[] = [];
  for (const m of template.matchAll(/\{([^}]*)\}/g)) {
    const name = m[1]!;
    if (!(KEY_FIELDS as readonly string[]).includes(name) && !KEY_PREFIXES.some((p) => name.startsWith(p) && name.length > p.length)) bad.push(name);
  }
  return bad;
}

export type KeyFunction = (req: EdgeRequest) => string;

export function compileKey(template: string): KeyFunction {
  const parts: Part[] = [];
  for (const piece of template.split(/(\{[^}]*\})/)) {
    if (piece.startsWith('{') && piece.endsWith('}')) parts.push(field(piece.slice(1, -1)));
    else if (piece !== '') parts.push(piece);
  }
  if (template === '{scheme}://{host}{uri}') return (req) => `${scheme(req)}://${host(req)}${req.url ?? '/'}`;
  return (req) => {
    let key = '';
    for (const part of parts) key += typeof part === 'string' ? part : part(req);
    return key;
  };
}
