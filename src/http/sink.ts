// The one response interface of the pipeline: whoever answers (the proxy, static files, a fixed
// response, the cache) hands a head and then body chunks to a ResponseSink, in the shape of
// undici's dispatch handlers. Wrappers (compression, the cache) are sinks over the next sink; the
// last one is the Node adapter (node-sink.ts), the only code that writes to Node's response.
// Backpressure as Node streams have it: onData returns false when the chunk was taken but no more
// should come, and the sink calls the producer's BodyControl.resume() once there is room again.

/**
 * A head's fields as a flat [name, value, name, value, ...] list, the form undici and writeHead
 * share. A sink never changes the list it is given (a stored response's head is shared): a
 * wrapper that changes fields passes on a new list.
 */
export type Fields = string[];

/** What a producer offers the sink it writes to. */
export interface BodyControl {
  /** The sink took what it held after onData returned false: data may flow again. */
  resume(): void;
}

export interface ResponseSink {
  /** A 103 Early Hints before the head; dropped where it cannot go. */
  onHints(hints: Record<string, string | string[]>): void;
  /** The final head (status >= 200). `control` is resumed after onData returned false; `reason` is HTTP/1.1's phrase. */
  onHead(status: number, fields: Fields, control?: BodyControl, reason?: string): void;
  /** A body chunk; false: wait for `control.resume()`. */
  onData(chunk: Buffer): boolean;
  /** The body is complete (`last` its final chunk, if any). */
  onEnd(last?: Buffer): void;
  /** The response is cut short: the client must not take what it got for the whole. */
  onError(): void;
}

/** A head and a whole body (or none) in one go: the short answers edge makes itself. */
export function sendWhole(out: ResponseSink, status: number, fields: Fields, body?: Buffer | string): void {
  out.onHead(status, fields);
  out.onEnd(typeof body === 'string' ? Buffer.from(body) : body);
}

/** The first value of field `name` (lower case) in `fields`, or undefined. */
export function fieldValue(fields: readonly string[], name: string): string | undefined {
  for (let i = 0; i < fields.length; i += 2) {
    const key = fields[i]!;
    if (key.length === name.length && key.toLowerCase() === name) return fields[i + 1];
  }
  return undefined;
}

/** Every value of a list-valued field `name` (lower case) joined with ", ", or undefined. */
export function fieldList(fields: readonly string[], name: string): string | undefined {
  let value: string | undefined;
  for (let i = 0; i < fields.length; i += 2) {
    const key = fields[i]!;
    if (key.length === name.length && key.toLowerCase() === name) value = value === undefined ? fields[i + 1] : `${value}, ${fields[i + 1]}`;
  }
  return value;
}

/** `fields` without the names in `drop` (lower case). */
export function withoutFields(fields: readonly string[], drop: ReadonlySet<string>): Fields {
  const out: Fields = [];
  for (let i = 0; i < fields.length; i += 2) if (!drop.has(fields[i]!.toLowerCase())) out.push(fields[i]!, fields[i + 1]!);
  return out;
}

/** An object of header values (Node's OutgoingHttpHeaders shape) → flat fields; undefined values left out. */
export function toFields(headers: Readonly<Record<string, string | number | readonly string[] | undefined>>): Fields {
  const out: Fields = [];
  for (const name in headers) {
    const v = headers[name];
    if (v === undefined) continue;
    if (typeof v === 'object') for (const item of v) out.push(name, item);
    else out.push(name, String(v));
  }
  return out;
}
