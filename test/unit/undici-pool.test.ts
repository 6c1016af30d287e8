// src/proxy/upstream.ts loads undici's Pool and connector by their file paths, to skip the rest of undici: this
// fails when an undici upgrade moves or replaces that file.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { buildConnector, Pool } from 'undici';

describe("undici's Pool by path", () => {
  it('undici/lib/dispatcher/pool.js is the Pool undici exports', () => {
    const byPath = createRequire(import.meta.url)('undici/lib/dispatcher/pool.js') as unknown;
    assert.equal(byPath, Pool);
  });

  it('undici/lib/core/connect.js is the buildConnector undici exports (the TLS connector of https upstreams)', () => {
    const byPath = createRequire(import.meta.url)('undici/lib/core/connect.js') as unknown;
    assert.equal(byPath, buildConnector);
  });
});
