// Unsafe methods through a cached route: the request goes to the route's action as it is, and
// a 2xx or 3xx answer invalidates what it names (RFC 9111 4.4): the URL, Location and
// Content-Location. A pass-through sink that looks at the head on its way to the client.

import { fieldValue, type BodyControl, type Fields, type ResponseSink } from '../http/sink.ts';
import { invalidates, invalidationTargets } from './policy/invalidate.ts';
import type { CacheRegistry } from './registry.ts';

export class InvalidatingSink implements ResponseSink {
  private readonly next: ResponseSink;
  private readonly registry: CacheRegistry;
  private readonly method: string;
  /** The request's URL with the port: same-origin is judged with it; purge then matches keys, which have none. */
  private readonly target: string;

  constructor(next: ResponseSink, registry: CacheRegistry, method: string, target: string) {
    this.next = next;
    this.registry = registry;
    this.method = method;
    this.target = target;
  }

  onHints(hints: Record<string, string | string[]>): void {
    this.next.onHints(hints);
  }

  onHead(status: number, fields: Fields, control?: BodyControl, reason?: string): void {
    if (invalidates(this.method, status)) {
      const targets = invalidationTargets(this.target, fieldValue(fields, 'location'), fieldValue(fields, 'content-location'));
      for (const url of targets) this.registry.purge(url, false);
    }
    this.next.onHead(status, fields, control, reason);
  }

  onData(chunk: Buffer): boolean {
    return this.next.onData(chunk);
  }

  onEnd(last?: Buffer): void {
    this.next.onEnd(last);
  }

  onError(): void {
    this.next.onError();
  }
}
