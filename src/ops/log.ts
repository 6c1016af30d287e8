// The error log: start-up, warnings and failures, one readable line each.

import { LogSink } from './sink.ts';

export type Level = 'info' | 'warn' | 'error';

export class Logger {
  private readonly sink: LogSink;

  constructor(sink: LogSink) {
    this.sink = sink;
  }

  info(message: string): void {
    this.line('info', message);
  }

  warn(message: string): void {
    this.line('warn', message);
  }

  error(message: string): void {
    this.line('error', message);
  }

  /** Several lines at once, unprefixed (the start-up banner). */
  block(text: string): void {
    this.sink.write(text.endsWith('\n') ? text : `${text}\n`);
  }

  reopen(): void {
    this.sink.reopen();
  }

  flushSync(): void {
    this.sink.flushSync();
  }

  private line(level: Level, message: string): void {
    const time = new Date().toISOString().replace('T', ' ').slice(0, 19);
    this.sink.write(`${time} ${level.padEnd(5)} ${message}\n`);
  }
}
