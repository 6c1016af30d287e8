// What a route does with a request. The proxy action lives in src/proxy; the small ones are here.

import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Route } from '../config/schema.ts';
import type { EdgeResponse } from './response.ts';

export interface Action {
  handle(req: IncomingMessage, res: EdgeResponse): void;
  /** WebSocket and other upgrades; `done` reports the outcome for the access log. */
  upgrade?(req: IncomingMessage, socket: Duplex, head: Buffer, done: (status: number, upstream: string) => void): void;
  /** One line for the start-up banner. */
  describe(): string;
}

type Part = string | ((req: IncomingMessage) => string);

/** `https://example.com{uri}` → parts joined per request, parsed once per config. */
function compileTemplate(template: string): Part[] {
  const parts: Part[] = [];
  for (const piece of template.split(/(\{host\}|\{uri\}|\{path\})/)) {
    if (piece === '{host}') parts.push((req) => req.headers.host ?? '');
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

  handle(req: IncomingMessage, res: EdgeResponse): void {
    let location = '';
    for (const part of this.parts) location += typeof part === 'string' ? part : part(req);
    res.writeHead(this.status, { location, 'content-length': 0 });
    res.end();
  }

  describe(): string {
    return `redirect ${this.status} → ${this.to}`;
  }
}

export class RespondAction implements Action {
  private readonly status: number;
  private readonly body: Buffer;
  private readonly headers: Record<string, string | number>;

  constructor(config: NonNullable<Route['respond']>) {
    this.status = config.status;
    this.body = Buffer.from(config.body);
    const lower = Object.fromEntries(Object.entries(config.headers).map(([k, v]) => [k.toLowerCase(), v]));
    this.headers = { 'content-type': 'text/plain; charset=utf-8', ...lower, 'content-length': this.body.length };
  }

  handle(req: IncomingMessage, res: EdgeResponse): void {
    res.writeHead(this.status, this.headers);
    const head = req.method === 'HEAD';
    res.bodyBytes = head ? 0 : this.body.length;
    res.end(head ? undefined : this.body);
  }

  describe(): string {
    return `respond ${this.status}`;
  }
}
