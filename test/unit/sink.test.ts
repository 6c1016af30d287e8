// The pipeline's ground floor (src/http/sink.ts, status-page.ts): reading and rewriting flat
// header lists, and edge's own status pages as a sink receives them.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { fieldList, fieldValue, toFields, withoutFields, type BodyControl, type Fields, type ResponseSink } from '../../src/http/sink.ts';
import { writeStatusPage } from '../../src/http/status-page.ts';

/** Records what reaches it, as the Node adapter would write it. */
class Recorder implements ResponseSink {
  status = 0;
  fields: Fields = [];
  body: Buffer[] = [];
  ended = false;
  cut = false;
  onHints(): void {}
  onHead(status: number, fields: Fields, _control?: BodyControl): void {
    this.status = status;
    this.fields = fields;
  }
  onData(chunk: Buffer): boolean {
    this.body.push(chunk);
    return true;
  }
  onEnd(last?: Buffer): void {
    if (last !== undefined) this.body.push(last);
    this.ended = true;
  }
  onError(): void {
    this.cut = true;
  }
}

describe('flat header lists', () => {
  const fields = ['Content-Type', 'text/html', 'Cache-Control', 'max-age=60', 'cache-control', 'no-transform', 'Set-Cookie', 'a=1', 'set-cookie', 'b=2'];

  const values: [string, string | undefined][] = [
    ['content-type', 'text/html'],
    ['cache-control', 'max-age=60'],
    ['set-cookie', 'a=1'],
    ['etag', undefined],
  ];
  for (const [name, want] of values) {
    it(`fieldValue(${name}) is the first value, whatever the case: ${want}`, () => assert.equal(fieldValue(fields, name), want));
  }

  it('fieldList joins every value of a list field', () => {
    assert.equal(fieldList(fields, 'cache-control'), 'max-age=60, no-transform');
    assert.equal(fieldList(fields, 'vary'), undefined);
  });

  it('withoutFields drops every occurrence, whatever the case, and keeps the rest in order', () => {
    assert.deepEqual(withoutFields(fields, new Set(['cache-control', 'set-cookie'])), ['Content-Type', 'text/html']);
  });

  it('toFields flattens an object: numbers as text, arrays repeated, undefined left out', () => {
    assert.deepEqual(toFields({ 'content-length': 5, 'set-cookie': ['a=1', 'b=2'], etag: undefined, vary: 'Accept' }), ['content-length', '5', 'set-cookie', 'a=1', 'set-cookie', 'b=2', 'vary', 'Accept']);
  });
});

describe('status pages', () => {
  it('a GET gets the page, its length and the extra fields; the bytes sent are returned', () => {
    const out = new Recorder();
    const bytes = writeStatusPage(out, 503, false, { 'retry-after': '5' });
    const body = Buffer.concat(out.body).toString();
    assert.equal(out.status, 503);
    assert.equal(body, '503 Service Unavailable\n');
    assert.equal(bytes, body.length);
    assert.equal(fieldValue(out.fields, 'content-length'), String(body.length));
    assert.equal(fieldValue(out.fields, 'retry-after'), '5');
    assert.equal(fieldValue(out.fields, 'x-content-type-options'), 'nosniff');
    assert.equal(fieldValue(out.fields, 'connection'), undefined);
    assert.ok(out.ended);
  });

  it('a HEAD gets the head alone, with the length the page would have', () => {
    const out = new Recorder();
    assert.equal(writeStatusPage(out, 404, true, undefined, true), 0);
    assert.deepEqual(out.body, []);
    assert.equal(fieldValue(out.fields, 'content-length'), String('404 Not Found\n'.length));
    assert.equal(fieldValue(out.fields, 'connection'), 'close');
    assert.ok(out.ended);
  });
});
