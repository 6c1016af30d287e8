// What a route does with a request. The proxy action lives in src/proxy; the small ones are here.

import type { Duplex } from 'node:stream';
import type { Route } from '../config/schema.ts';
import { toFields, type Fields, type ResponseSink } from '../http/sink.ts';
import { requestHost, type EdgeRequest, type EdgeRes } from './response.ts';

export interface Action {
  /**
   * Answers `req` through `out`: `res` itself, or the wrappers around the action (compression,
   * the cache) ending there. `res` is the exchange (its close, its fields for the access log).
   */
  handle(req: EdgeRequest, res: EdgeRes, out: ResponseSink): void;
  /** WebSocket and other upgrades; `done` reports the outcome for the access log. */
  upgrade?(req: EdgeRequest, socket: Duplex, head: Buffer, done: (status: number, upstream: string) => void): void;
  /** One line for the start-up banner. */
  describe(): string;
}

type Part = string | ((req: EdgeRequest) => string);

/** `https://example.com{uri}` → parts joined per request, parsed once per config. */
function compileTemplate(template: string): Part[] {
  const parts: Part[] = [];
  for (const piece of template.split(/(\{host\}|\{uri\}|\{path\})/)) {
    if (piece === '{host}') parts.push((req) => requestHost(req) ?? '');
    else if (piece === '{uri}') parts.push((req) => req.url ?? '/');
    else if (piece === '{path}') parts.push((req) => (req.url ?? '/').split('?')[0]!);
    else if (piece !== '') parts.push(piece);
  }
  return parts;
}

export class RedirectAction implements Action {
  private readonly parts: Part[];
  private readonly status: number;
  private readonly to: string;

  constructor(config: NonNullable<Route['redirect']>) {
    this.to = config.to;
    this.status = config.status;
    this.parts = compileTemplate(config.to);
  }

  handle(req: EdgeRequest, _res: EdgeRes, out: ResponseSink): void {
    let location = '';
    for (const part of this.parts) location += typeof part === 'string' ? part : part(req);
    out.onHead(this.status, ['location', location, 'content-length', '0']);
    out.onEnd();
  }

  describe(): string {
    return `redirect ${this.status} → ${this.to}`;
  }
}

export class RespondAction implements Action {
  private readonly status: number;
  private readonly body: Buffer;
  private readonly fields: Fields;

  constructor(config: NonNullable<Route['respond']>) {
    this.status = config.status;
    this.body = Buffer.from(config.body);
    const lower = Object.fromEntries(Object.entries(config.headers).map(([k, v]) => [k.toLowerCase(), v]));
    this.fields = toFields({ 'content-type': 'text/plain; charset=utf-8', ...lower, 'content-length': this.body.length });
  }

  handle(req: EdgeRequest, res: EdgeRes, out: ResponseSink): void {
    out.onHead(this.status, this.fields);
    if (req.method === 'HEAD') {
      out.onEnd();
      return;
    }
    res.bodyBytes = this.body.length;
    out.onEnd(this.body);
  }

  describe(): string {
    return `respond ${this.status}`;
  }
}
