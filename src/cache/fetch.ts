// One request to the route's action on the cache's account: a miss (streamed to the client that
// caused it while being buffered for the store), a revalidation (a 304 freshens the stored
// response) or a background refresh (no client). Concurrent requests for the key wait on it
// (bounded by lock_timeout) and then look the store up again. The action (the proxy) gets a
// RequestView and this fetch as its ResponseSink: no Node request or response on this side.

import type { IncomingHttpHeaders } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { requestClient } from '../http/client-address.ts';
import type { FetchHandle, Fetcher, RequestView } from '../http/request.ts';
import type { BodyControl, Fields, ResponseSink } from '../http/sink.ts';
import type { EdgeRequest, EdgeRes } from '../server/response.ts';
import { sendStatus } from '../server/status.ts';
import { headersFromRaw, makeEntry, one, strippedFields, type CacheEntry } from './entry.ts';
import type { Directives } from './policy/directives.ts';
import { notStorable } from './policy/storable.ts';
import { responseDirectives } from './policy/targeted.ts';
import { ERROR_STATUSES, staleIfError } from './policy/request.ts';
import { mergeHeaders, notModifiedApplies, type StoredHeaders } from './policy/update.ts';
import { secondaryKey, varyNames } from './policy/vary.ts';
import { ageOf, serveStored } from './serve.ts';
import type { Zone } from './zone.ts';

export interface FetchSettings {
  inner: Fetcher;
  zone: Zone;
  maxObjectSize: number;
  storeSetCookie: boolean;
  useStaleError: boolean;
  lockTimeout: number;
  /** The targeted cache-control field followed (lower case, e.g. cdn-cache-control), or false. */
  targetedField: string | false;
}

export interface Client {
  req: EdgeRequest;
  res: EdgeRes;
  /** Where its answer goes (the route's wrappers, then `res`). */
  out: ResponseSink;
  /** Cache-Status fwd reason: uri-miss, vary-miss, stale, request. */
  fwd: string;
}

/**
 * Left out of the upstream request: the cache makes its own conditionals and fetches whole
 * bodies; its request has none of its own (a client's GET body stays with the client).
 */
const CLIENT_ONLY = new Set(['if-none-match', 'if-modified-since', 'if-match', 'if-unmodified-since', 'if-range', 'range', 'content-length', 'transfer-encoding']);

/** Headers for the cache's own request, taken from the client's. */
export function upstreamHeaders(req: EdgeRequest, stored: CacheEntry | undefined): IncomingHttpHeaders {
  const out: IncomingHttpHeaders = {};
  const h = req.headers;
  for (const name of Object.keys(h)) {
    if (name.charCodeAt(0) === 58 /* ':' */ || CLIENT_ONLY.has(name)) continue;
    out[name] = h[name];
  }
  const authority = h[':authority'];
  if (out.host === undefined && typeof authority === 'string') out.host = authority;
  if (stored?.etag !== undefined) out['if-none-match'] = stored.etag;
  if (stored?.lastModified !== undefined) out['if-modified-since'] = stored.lastModified;
  return out;
}

export type Waiter = () => void;

export class Fetch implements ResponseSink, BodyControl {
  private readonly settings: FetchSettings;
  private readonly key: string;
  private readonly primary: string;
  private readonly url: string;
  private readonly stored: CacheEntry | undefined;
  private client: Client | undefined;
  private readonly request: RequestView;
  private readonly requestDirectives: Directives;
  /** The action's request under way, once started. */
  private handle: FetchHandle | undefined;
  /** The action's body control, resumed when the client's sink takes more. */
  private control: BodyControl | undefined;
  private producerWaits = false;
  private readonly requestTime = Date.now() / 1000;
  private mode: 'pass' | 'store' | 'freshened' | 'stale' | 'retry' = 'pass';
  private status = 0;
  private headers: StoredHeaders = {};
  private responseTime = 0;
  /** The body being stored: one Buffer of the declared length, or chunks when none is declared. */
  private body: Buffer | undefined;
  private chunks: Buffer[] = [];
  private buffered = 0;
  private waiters: Waiter[] = [];
  private lockTimer: NodeJS.Timeout | undefined;
  private done = false;
  /** Called once when the fetch is over, whatever the outcome (the action forgets it). */
  onDone: (() => void) | undefined;

  constructor(settings: FetchSettings, key: string, primary: string, url: string, origin: EdgeRequest, requestDirectives: Directives, stored: CacheEntry | undefined, client: Client | undefined) {
    this.settings = settings;
    this.key = key;
    this.primary = primary;
    this.url = url;
    this.stored = stored;
    this.client = client;
    this.requestDirectives = requestDirectives;
    const socket = origin.socket as TLSSocket | undefined;
    this.request = {
      method: 'GET',
      url: origin.url ?? '/',
      headers: upstreamHeaders(origin, stored),
      // the balancing policies read the client (ip_hash), the upstream gets it in X-Forwarded-For
      client: requestClient(origin),
      scheme: socket?.encrypted === true || origin.headers[':scheme'] === 'https' ? 'https' : 'http',
    };
    if (client) client.res.once('close', this.clientGone);
  }

  start(): void {
    this.handle = this.settings.inner.fetch(this.request, this);
  }

  /** Another request for the key waits for this one; released when it ends or at lock_timeout. */
  wait(waiter: Waiter): void {
    this.waiters.push(waiter);
    this.lockTimer ??= setTimeout(() => this.release(), this.settings.lockTimeout).unref();
  }

  onHead(status: number, raw: Fields, control?: BodyControl): void {
    this.control = control;
    this.status = status;
    this.responseTime = Date.now() / 1000;
    const headers = (this.headers = headersFromRaw(raw));
    const stored = this.stored;
    if (stored && status === 304) {
      this.mode = notModifiedApplies(stored.headers, headers) ? 'freshened' : 'retry';
      return;
    }
    if (stored && ERROR_STATUSES.has(status) && staleIfError({ response: stored.directives, lifetime: stored.lifetime, age: ageOf(stored, this.responseTime) }, this.requestDirectives, this.settings.useStaleError)) {
      this.mode = 'stale';
      return;
    }
    const field = this.settings.targetedField;
    const { directives: response, targeted } = responseDirectives(headers['cache-control'], field === false ? undefined : one(headers[field]));
    const reason = notStorable({
      method: 'GET',
      status,
      request: this.requestDirectives,
      response,
      authorization: this.request.headers.authorization !== undefined,
      hasExpires: !targeted && headers.expires !== undefined,
      hasSetCookie: headers['set-cookie'] !== undefined,
      vary: one(headers.vary),
      storeSetCookie: this.settings.storeSetCookie,
    });
    const length = headers['content-length'] === undefined ? undefined : Number(one(headers['content-length']));
    const fits = length === undefined || length <= this.settings.maxObjectSize;
    this.mode = reason === undefined && fits ? 'store' : 'pass';
    // one allocation of the right size rather than chunks and a copy of them all at the end
    if (this.mode === 'store' && length !== undefined && Number.isSafeInteger(length) && length > 0) this.body = Buffer.allocUnsafeSlow(length);
    const client = this.client;
    if (!client) return;
    let cacheStatus = `edge; fwd=${client.fwd}; fwd-status=${status}`;
    if (this.mode === 'store') cacheStatus += '; stored';
    else if (reason !== undefined) cacheStatus += `; detail=${reason}`;
    else cacheStatus += '; detail=too-large';
    // an answer of edge's own may come before the action handed back its handle
    client.res.upstream = this.handle?.upstream ?? '';
    // the targeted field was for edge's cache, which has followed it
    const head = targeted ? withoutField(raw, field as string) : [...raw];
    head.push('cache-status', cacheStatus);
    client.out.onHead(status, head, this);
  }

  onHints(hints: Record<string, string | string[]>): void {
    // a background refresh has nobody to tell, and a hit later replays none
    this.client?.out.onHints(hints);
  }

  onData(chunk: Buffer): boolean {
    if (this.mode === 'store') {
      const at = this.buffered;
      this.buffered += chunk.length;
      if (this.buffered > (this.body?.length ?? this.settings.maxObjectSize)) {
        // past max_object_size (or the declared length): stream on without keeping anything
        this.mode = 'pass';
        this.chunks = [];
        this.body = undefined;
      } else if (this.body) {
        chunk.copy(this.body, at);
      } else {
        this.chunks.push(chunk);
      }
    }
    const client = this.client;
    if (!client || (this.mode !== 'store' && this.mode !== 'pass') || client.req.method === 'HEAD') return true;
    client.res.bodyBytes += chunk.length;
    if (client.out.onData(chunk)) return true;
    this.producerWaits = true;
    return false;
  }

  /** The client's sink has room again (or the client is gone): the action may go on. */
  resume(): void {
    if (!this.producerWaits) return;
    this.producerWaits = false;
    this.control?.resume();
  }

  onEnd(last?: Buffer): void {
    if (last !== undefined) this.onData(last);
    const { zone } = this.settings;
    const client = this.client;
    const now = Date.now() / 1000;
    if (this.mode === 'freshened') {
      const stored = this.stored!;
      const stripped = strippedFields(stored.directives);
      // a cookie set in a 304 would otherwise be handed to every later client
      if (!this.settings.storeSetCookie) stripped.add('set-cookie');
      const merged = mergeHeaders(stored.headers, this.headers, stripped);
      const entry = makeEntry(stored.key, stored.url, stored.status, merged, stored.body, this.requestTime, this.responseTime, this.settings.targetedField);
      zone.store.set(entry);
      if (client) serveStored(client.req, client.res, client.out, entry, now, `edge; fwd=${client.fwd}; fwd-status=304; stored`);
    } else if (this.mode === 'stale') {
      zone.stats.stale++;
      if (client) serveStored(client.req, client.res, client.out, this.stored!, now, `edge; fwd=${client.fwd}; fwd-status=${this.status}; detail=stale-if-error`);
    } else if (this.mode === 'retry') {
      // a 304 for another representation than the stored one: ask again without validators
      if (client) {
        this.client = undefined;
        client.res.off('close', this.clientGone);
        const again = new Fetch(this.settings, this.key, this.primary, this.url, client.req, this.requestDirectives, undefined, client);
        again.start();
      }
    } else {
      if (this.mode === 'store' && (!this.body || this.buffered === this.body.length)) this.store(this.body ?? Buffer.concat(this.chunks, this.buffered));
      if (client && !client.res.writableEnded && !client.res.destroyed) client.out.onEnd();
    }
    this.finish();
  }

  /** The action's answer broke off (upstream died mid-body), or the fetch was given up. */
  onError(): void {
    const client = this.client;
    if (client && !client.res.writableEnded) {
      if (client.res.headersSent) client.out.onError();
      else sendStatus(client.res, 502, {}, client.out);
    }
    this.finish();
  }

  private store(body: Buffer): void {
    const { store } = this.settings.zone;
    const names = varyNames(one(this.headers.vary));
    if (names === '*') return;
    let key = this.primary;
    if (names.length > 0 || store.varyOf(this.primary) !== undefined) {
      store.setVary(this.primary, names);
      key += secondaryKey(names, this.request.headers);
    }
    store.set(makeEntry(key, this.url, this.status, this.headers, body, this.requestTime, this.responseTime, this.settings.targetedField));
  }

  private readonly clientGone = (): void => {
    const client = this.client;
    // a chunk held for the client goes on without it
    this.resume();
    if (!client || client.res.writableFinished) return;
    this.client = undefined;
    // nothing to keep it for: stop the upstream too
    if (this.mode !== 'store' && this.mode !== 'freshened' && this.waiters.length === 0) {
      this.handle?.abort();
      this.onError();
    }
  };

  private finish(): void {
    if (this.done) return;
    this.done = true;
    this.client?.res.off('close', this.clientGone);
    this.onDone?.();
    this.release();
  }

  private release(): void {
    if (this.lockTimer) clearTimeout(this.lockTimer);
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }
}

/** A flat [name, value, ...] head without the (lower-case) `name`. */
function withoutField(raw: readonly string[], name: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i]!.length !== name.length || raw[i]!.toLowerCase() !== name) out.push(raw[i]!, raw[i + 1]!);
  }
  return out;
}
