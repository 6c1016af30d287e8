// The upstream's 103 Early Hints, relayed to the client as they come, with the hop-by-hop fields
// left on their hop. Other 1xx stay with edge: it answers Expect: 100-continue itself.

import type { ResponseSink } from '../http/sink.ts';
import { responseHeaders } from './headers.ts';

export function relayEarlyHints(rawHeaders: readonly (string | Buffer)[], out: ResponseSink): void {
  const raw = responseHeaders(rawHeaders);
  const hints: Record<string, string | string[]> = {};
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    const prior = hints[name];
    const value = raw[i + 1]!;
    hints[name] = prior === undefined ? value : Array.isArray(prior) ? [...prior, value] : [prior, value];
  }
  out.onHints(hints);
}
