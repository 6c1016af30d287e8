// The log sink on a real file: every line arrives once, whole and in order, across buffer
// boundaries, for lines longer than a buffer and for multi-byte UTF-8; a batching sink holds lines
// back until its delay is over, and flushSync writes whatever is pending.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { LogSink } from '../../src/ops/sink.ts';

const tempFile = () => join(mkdtempSync(join(tmpdir(), 'edge-sink-')), 'access.log');

async function until(file: string, length: number): Promise<string> {
  for (let i = 0; i < 200; i++) {
    const text = readFileSync(file, 'utf8');
    if (Buffer.byteLength(text) >= length) return text;
    await sleep(10);
  }
  return readFileSync(file, 'utf8');
}

describe('log sink', () => {
  it('writes every line whole and in order, across buffers, long lines and UTF-8', async () => {
    const file = tempFile();
    const sink = new LogSink(file);
    const lines: string[] = [];
    for (let i = 0; i < 3000; i++) lines.push(`${i} ${'x'.repeat(i % 97)} é→😀\n`);
    lines.splice(1000, 0, `long ${'y'.repeat(100_000)}\n`);
    lines.splice(2000, 0, `${'ü'.repeat(30_000)}\n`);
    // in several event-loop turns, some while a write is in flight
    for (let i = 0; i < lines.length; i++) {
      sink.write(lines[i]!);
      if (i % 700 === 0) await sleep(1);
    }
    const expected = lines.join('');
    const text = await until(file, Buffer.byteLength(expected));
    assert.equal(text.length, expected.length);
    assert.ok(text === expected, 'the file holds exactly the lines written, in order');
  });

  it('holds lines back for its batch delay, unless a buffer fills', async () => {
    const file = tempFile();
    const sink = new LogSink(file, 60_000);
    sink.write('first\n');
    await sleep(50);
    assert.equal(readFileSync(file, 'utf8'), '', 'nothing written before the delay');
    const many = 'z'.repeat(99) + '\n';
    for (let i = 0; i < 700; i++) sink.write(many);
    const text = await until(file, 64 * 1024);
    assert.ok(Buffer.byteLength(text) >= 64 * 1024, `a full buffer is written long before the delay is over: ${text.length} bytes`);
    sink.flushSync();
    assert.equal(readFileSync(file, 'utf8'), 'first\n' + many.repeat(700));
  });

  it('flushSync writes what is pending at once', () => {
    const file = tempFile();
    const sink = new LogSink(file, 60_000);
    sink.write('a\n');
    sink.write('b\n');
    sink.flushSync();
    assert.equal(readFileSync(file, 'utf8'), 'a\nb\n');
    sink.flushSync();
    assert.equal(readFileSync(file, 'utf8'), 'a\nb\n');
  });
});
