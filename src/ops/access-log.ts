// The access log: one line per request in nginx's combined format (plus the request id as a last
// quoted field, as nginx's $request_id is usually logged) or as JSON.

import { requestHost, type EdgeRequest } from '../server/response.ts';
import { requestIdOf } from './request-id.ts';
import { originalUrl } from '../http/original-url.ts';
import { LogSink } from './sink.ts';

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const UNSAFE = /["\\\x00-\x1f\x7f-\xff]/;
const UNSAFE_ALL = /["\\\x00-\x1f\x7f-\xff]/g;

export class AccessLog {
  private readonly sink: LogSink;
  private readonly json: boolean;
  private stampSecond = -1;
  private stamp = '';

  constructor(sink: LogSink, format: 'combined' | 'json') {
    this.sink = sink;
    this.json = format === 'json';
  }

  /** One request done: from `client`, `bytes` of body sent, `startedAt` from performance.now(), `upstream` name or ''. */
  log(req: EdgeRequest, client: string, status: number, bytes: number, startedAt: number, upstream: string): void {
    this.sink.write(this.json
      ? this.jsonLine(req, client, status, bytes, startedAt, upstream)
      : this.combinedLine(req, client, status, bytes));
  }

  /** An answer to bytes that never became a request (Node's parser refused them): "-" for the request, as nginx logs it. */
  logUnparsed(client: string, status: number, bytes: number): void {
    this.sink.write(this.json
      ? JSON.stringify({ time: new Date().toISOString(), remote: client, status, bytes, duration_ms: 0 }) + '\n'
      : `${client} - - [${this.timeLocal()}] "-" ${status} ${bytes} "-" "-" "-"\n`);
  }

  reopen(): void {
    this.sink.reopen();
  }

  flushSync(): void {
    this.sink.flushSync();
  }

  private combinedLine(req: EdgeRequest, client: string, status: number, bytes: number): string {
    const h = req.headers;
    return `${client} - - [${this.timeLocal()}] "${escape(req.method ?? '-')} ${escape(originalUrl(req) ?? '-')} HTTP/${req.httpVersion}" ${status} ${bytes} "${field(h.referer)}" "${field(h['user-agent'])}" "${requestIdOf(req) ?? '-'}"\n`;
  }

  private jsonLine(req: EdgeRequest, client: string, status: number, bytes: number, startedAt: number, upstream: string): string {
    return JSON.stringify({
      time: new Date().toISOString(),
      remote: client,
      host: requestHost(req),
      method: req.method,
      uri: originalUrl(req),
      proto: `HTTP/${req.httpVersion}`,
      status,
      bytes,
      duration_ms: Math.round((performance.now() - startedAt) * 1000) / 1000,
      upstream: upstream || undefined,
      referer: req.headers.referer,
      user_agent: req.headers['user-agent'],
      request_id: requestIdOf(req),
    }) + '\n';
  }

  /** "24/Nov/2026:16:13:57 +0000", rebuilt at most once a second. */
  private timeLocal(): string {
    const now = Date.now();
    const second = Math.floor(now / 1000);
    if (second !== this.stampSecond) {
      const d = new Date(now);
      this.stampSecond = second;
      this.stamp = `${pad(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} +0000`;
    }
    return this.stamp;
  }
}

function pad(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

function field(value: string | undefined): string {
  return value === undefined ? '-' : escape(value);
}

/** Quotes, backslashes and bytes outside printable ASCII as \xHH, like nginx, so a line cannot be forged. */
function escape(value: string): string {
  if (!UNSAFE.test(value)) return value;
  return value.replace(UNSAFE_ALL, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}
