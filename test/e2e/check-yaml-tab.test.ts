// A tab in the YAML's indentation: the parser reported nine cascading errors where the first one
// says it all; edge check prints that one line.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { runEdge } from '../helpers/edge.ts';
import { writeConfig } from '../helpers/config.ts';

describe('YAML syntax errors', () => {
  it('a tab in the indentation is one error line, not nine cascading ones', async () => {
    const { file } = writeConfig('http_port: 8080\nsites:\n  - hosts: [a.example]\n\ttls: off\n    routes:\n      - proxy: { to: 127.0.0.1:3000 }\n');
    const r = await runEdge(['check', '-c', file]);
    assert.equal(r.code, 1);
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0]!, /:4:\d+: YAML: .*tab/i);
  });
});
