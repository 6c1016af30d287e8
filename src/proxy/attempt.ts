// One attempt of a proxied request on one upstream: the handler undici calls as the answer
// arrives. The head goes to the proxy first (a fail_status answer may still be retried
// elsewhere); then head and body go to the route's ResponseSink chunk by chunk. While the sink
// is full, the rest goes to a ResponseBuffer (memory, then a temp file) so the upstream is read
// at its own speed; an unbuffered response (SSE, X-Accel-Buffering: no, buffering off) pauses the
// upstream instead. No Node request or response object on the upstream side.

import type { Dispatcher } from 'undici';
import { fieldValue, type BodyControl, type ResponseSink } from '../http/sink.ts';
import { relayEarlyHints } from './early-hints.ts';
import { responseHeaders } from './headers.ts';
import { ResponseBuffer, type ResponseBuffering } from './response-buffer.ts';

export type { ResponseBuffering };

type Controller = Dispatcher.DispatchController;

/** What the proxy decides at each step of an attempt. */
export interface AttemptOwner {
  /** The upstream's final head: true to relay it, false to drop this answer (the attempt is aborted). */
  onHead(attempt: Attempt, status: number): boolean;
  /** The attempt failed: `relayed` says whether its head already reached the client. */
  onFailed(attempt: Attempt, err: Error, relayed: boolean): void;
  onFinished(attempt: Attempt): void;
}

/** The reason an attempt was given up by edge itself (client gone, a retry elsewhere): never a failure. */
export class AttemptAbandoned extends Error {
  readonly code = 'EATTEMPT_ABANDONED';
  constructor() {
    super('attempt abandoned');
    this.name = 'AttemptAbandoned';
  }
}

const ABANDONED = new AttemptAbandoned();
const EVENT_STREAM = /^\s*text\/event-stream/i;

/** The exchange an attempt counts body bytes on, for the access log. */
export interface Counted {
  bodyBytes: number;
}

export class Attempt implements Dispatcher.DispatchHandler, BodyControl {
  readonly owner: AttemptOwner;
  readonly exchange: Counted;
  readonly out: ResponseSink;
  readonly method: string;
  /** The proxy's own bookkeeping for this attempt (its upstream, its number). */
  readonly tag: unknown;
  private controller: Controller | undefined;
  private relayed = false;
  private over = false;
  /** Body bytes are counted as they pass when the head declared no length. */
  private counting = false;
  /** The route buffers responses; cleared for one that must stream. */
  private buffering: ResponseBuffering | undefined;
  private buffer: ResponseBuffer | undefined;

  constructor(owner: AttemptOwner, exchange: Counted, out: ResponseSink, method: string, tag: unknown, buffering?: ResponseBuffering) {
    this.owner = owner;
    this.exchange = exchange;
    this.out = out;
    this.method = method;
    this.tag = tag;
    this.buffering = buffering;
  }

  /** Stops the attempt (client gone, or its answer dropped); the owner hears nothing more of it. */
  abandon(): void {
    if (this.over) return;
    this.over = true;
    this.controller?.abort(ABANDONED);
  }

  /** The exchange is over (its client gone, or the cache's fetch aborted): also frees the response buffer. */
  cut(): void {
    this.buffer?.dispose();
    this.abandon();
  }

  onRequestStart(controller: Controller): void {
    this.controller = controller;
    if (this.over) controller.abort(ABANDONED);
  }

  onResponseStart(controller: Controller, status: number, _headers: unknown, statusMessage?: string): void {
    if (this.over) return;
    // 1xx: 103 Early Hints go to the client as they come; 100 Continue was edge's to send
    if (status < 200) {
      if (status === 103) relayEarlyHints(controller.rawHeaders as Buffer[], this.out);
      return;
    }
    if (!this.owner.onHead(this, status)) {
      this.abandon();
      return;
    }
    const raw = controller.rawHeaders as Buffer[] | string[];
    const headers = responseHeaders(raw);
    this.out.onHead(status, headers, this, statusMessage);
    this.relayed = true;
    // the access log's byte count: the declared length when there is one, else counted as it flows
    const length = fieldValue(headers, 'content-length');
    if (length === undefined) this.counting = true;
    else if (this.method !== 'HEAD') this.exchange.bodyBytes = Number(length);
    // events and anything the app asked to stream reach the client as they come (nginx's rules)
    if (this.buffering && (fieldValue(headers, 'x-accel-buffering')?.toLowerCase() === 'no' || EVENT_STREAM.test(fieldValue(headers, 'content-type') ?? ''))) this.buffering = undefined;
  }

  onResponseData(controller: Controller, chunk: Buffer): void {
    if (this.over) return;
    if (this.counting) this.exchange.bodyBytes += chunk.length;
    if (this.buffer) {
      this.buffer.push(chunk);
      return;
    }
    if (this.out.onData(chunk)) return;
    if (this.buffering) {
      this.buffer = new ResponseBuffer(this.out, this.upstream, this.buffering);
      return;
    }
    controller.pause();
  }

  /** The sink took what it held: the buffer goes on, or the upstream is read again. */
  resume(): void {
    if (this.buffer) this.buffer.drained();
    else if (!this.over) this.controller?.resume();
  }

  onResponseEnd(): void {
    if (this.over) return;
    this.over = true;
    if (this.buffer) this.buffer.end();
    else this.out.onEnd();
    // the upstream is done with this request, whatever is left for the client to take
    this.owner.onFinished(this);
  }

  onResponseError(_controller: Controller, err: Error): void {
    if (this.over) return;
    this.over = true;
    this.owner.onFailed(this, err, this.relayed);
  }

  private readonly upstream = {
    pause: (): void => {
      if (!this.over) this.controller?.pause();
    },
    resume: (): void => {
      if (!this.over) this.controller?.resume();
    },
  };
}
