// `compress:` on a route: wraps the route's action (proxy, static, respond, ...) so whatever it
// writes is compressed for clients that accept one of the configured encodings (sink.ts).

import type { Encoding } from '../config/static-schema.ts';
import type { ResponseSink } from '../http/sink.ts';
import type { Action } from '../server/actions.ts';
import type { EdgeRequest, EdgeRes } from '../server/response.ts';
import { chooseEncoding } from './negotiate.ts';
import { CompressSink } from './sink.ts';

export class CompressAction implements Action {
  private readonly inner: Action;
  private readonly encodings: readonly Encoding[];
  readonly upgrade?: Action['upgrade'];

  constructor(inner: Action, encodings: readonly Encoding[]) {
    this.inner = inner;
    this.encodings = encodings;
    // upgraded connections carry no HTTP body to compress
    this.upgrade = inner.upgrade?.bind(inner);
  }

  handle(req: EdgeRequest, res: EdgeRes, out: ResponseSink): void {
    const coding = chooseEncoding(req.headers['accept-encoding'], this.encodings);
    this.inner.handle(req, res, new CompressSink(out, res, req.method!, coding));
  }

  describe(): string {
    return `${this.inner.describe()}, compressed (${this.encodings.join(', ')})`;
  }
}
