// The error log: start-up, warnings and failures. Readable lines for a person at a terminal, one
// JSON object per line otherwise (systemd's journal, docker logs, a file), so a log shipper needs
// no parsing rules. A line about a request carries its request id.

import { LogSink } from './sink.ts';
import { requestIdOf, type Traced } from './request-id.ts';

export type Level = 'info' | 'warn' | 'error';
export type LogFormat = 'text' | 'json';

export class Logger {
  private readonly sink: LogSink;
  readonly format: LogFormat;

  /** `format` defaults to text when the destination is a terminal, JSON when it is not. */
  constructor(sink: LogSink, format: LogFormat = sink.isTTY ? 'text' : 'json') {
    this.sink = sink;
    this.format = format;
  }

  /** `request`, when the line is about one, adds its X-Request-Id. */
  info(message: string, request?: Traced): void {
    this.line('info', message, request);
  }

  warn(message: string, request?: Traced): void {
    this.line('warn', message, request);
  }

  error(message: string, request?: Traced): void {
    this.line('error', message, request);
  }

  /** Several lines at once (the start-up banner): as they are on a terminal, one record each in JSON. */
  block(text: string): void {
    if (this.format === 'text') {
      this.sink.write(text.endsWith('\n') ? text : `${text}\n`);
      return;
    }
    const time = new Date().toISOString();
    for (const line of text.split('\n')) {
      if (line.trim() !== '') this.sink.write(`${JSON.stringify({ time, level: 'info', msg: line.trim() })}\n`);
    }
  }

  reopen(): void {
    this.sink.reopen();
  }

  flushSync(): void {
    this.sink.flushSync();
  }

  private line(level: Level, message: string, request: Traced | undefined): void {
    const id = request && requestIdOf(request);
    if (this.format === 'json') {
      this.sink.write(`${JSON.stringify({ time: new Date().toISOString(), level, msg: message, request_id: id })}\n`);
      return;
    }
    const time = new Date().toISOString().replace('T', ' ').slice(0, 19);
    this.sink.write(`${time} ${level.padEnd(5)} ${message}${id ? ` (request ${id})` : ''}\n`);
  }
}
