// strip_prefix and rewrite end to end: what the upstream, the static root and the access log
// see, and the hostile targets (encoded dots, a rule whose result climbs) that must not get a
// path above "/" to anyone: 400, or another route, and the rule's upstream never asked.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { WebSocket, WebSocketServer } from 'ws';
import { freePort, startEdge, waitFor, type EdgeProcess } from '../helpers/edge.ts';
import { writeConfig } from '../helpers/config.ts';
import { writeTree } from '../helpers/files.ts';
import { fetchRaw } from '../helpers/http.ts';
import { startUpstream, type Upstream } from '../helpers/upstream.ts';

describe('strip_prefix and rewrite', () => {
  let api: Upstream;
  let rest: Upstream;
  let edge: EdgeProcess;
  const seen = (up: Upstream) => up.requests.map((r) => r.url);
  before(async () => {
    api = await startUpstream((req, res) => res.end(`api ${req.url}`));
    rest = await startUpstream((req, res) => res.end(`rest ${req.url}`));
    const wss = new WebSocketServer({ server: api.server });
    wss.on('connection', (ws, req) => ws.send(`ws ${req.url}`));
    const assets = writeTree({ 'app.css': 'body{}', 'docs/index.html': '<p>docs</p>', 'new/page.txt': 'new page' });
    const files = writeTree({ 'app.txt': 'versioned' });
    const port = await freePort();
    const { file } = writeConfig(`
http_port: ${port}
bind: 127.0.0.1
admin: off
sites:
  - hosts: [test.example]
    tls: off
    routes:
      - match: /api/
        strip_prefix: /api
        proxy: { to: ${api.address} }
      - match: /legacy/
        rewrite: { from: "^/legacy/(.*)$", to: "/v2/$1" }
        proxy: { to: ${api.address} }
      - match: /both/
        strip_prefix: /both/
        rewrite: { from: "^/old/(.*)$", to: "/new/$1" }
        proxy: { to: ${api.address} }
      - match: /trap/
        rewrite: { from: "^/trap/(.)", to: "/y/.$1/z" }
        proxy: { to: ${api.address} }
      - match: /assets/
        strip_prefix: /assets
        rewrite: { from: "^/old/(.*)$", to: "/new/$1" }
        static: { root: ${assets} }
      - match: /files/
        rewrite: { from: "^/files/v[0-9]+/(.*)$", to: "/files/$1" }
        static: { root: ${files} }
      - match: /
        proxy: { to: ${rest.address} }
`);
    edge = await startEdge(['run', '-c', file], { port });
  });
  after(async () => {
    await edge.stop();
    await api.close();
    await rest.close();
  });

  it('strip_prefix: the upstream sees the rest, the query as sent, the access log the original', async () => {
    assert.equal((await fetchRaw(edge.port, '/api/v1/x?a=1&b=%20')).text, 'api /v1/x?a=1&b=%20');
    assert.equal((await fetchRaw(edge.port, '/api')).text, 'rest /api', '/api is not under the /api/ route');
    assert.equal((await fetchRaw(edge.port, '/api/')).text, 'api /');
    assert.equal((await fetchRaw(edge.port, '/api/caf%C3%A9%3F?q')).text, 'api /caf%C3%A9%3F?q');
    await waitFor(() => /"GET \/api\/v1\/x\?a=1&b=%20 HTTP\/1.1" 200 /.test(edge.stdout()), () => `access log line, got:\n${edge.stdout()}`);
  });

  it('rewrite: $1 in the new path, query kept; strip_prefix first, then rewrite', async () => {
    assert.equal((await fetchRaw(edge.port, '/legacy/a/b?q=2')).text, 'api /v2/a/b?q=2');
    assert.equal((await fetchRaw(edge.port, '/both/old/x?y')).text, 'api /new/x?y');
    assert.equal((await fetchRaw(edge.port, '/both/v1')).text, 'api /v1');
    await waitFor(() => /"GET \/legacy\/a\/b\?q=2 HTTP\/1.1" 200 /.test(edge.stdout()), 'access log line with the original URI');
  });

  it('encoded dots cannot take a stripped or rewritten path above /', async () => {
    const before = api.requests.length;
    for (const target of ['/api/%2e%2e/%2e%2e/etc/passwd', '/api/..%2f..%2fetc/passwd', '/legacy/%2E%2E/%2e%2e/x', '/api/%2e%2e%2f%2e%2e%2fetc']) {
      assert.equal((await fetchRaw(edge.port, target)).status, 400, target);
    }
    // resolved inside "/": no longer under /api/, so the other route takes it, unstripped
    assert.equal((await fetchRaw(edge.port, '/api/%2e%2e/admin')).text, 'rest /api/%2e%2e/admin');
    assert.equal((await fetchRaw(edge.port, '/trap/.hidden')).status, 400, 'a rule whose result has a .. segment');
    assert.equal((await fetchRaw(edge.port, '/assets/%2e%2e/%2e%2e/etc/passwd')).status, 400);
    assert.equal(api.requests.length, before, `the api upstream was asked ${seen(api).slice(before).join(', ')}`);
    await waitFor(() => /400 GET \/trap\/\.hidden on test\.example: rewritten path .*has a .*segment/.test(edge.stderr()), () => `the refusal in the error log, got:\n${edge.stderr()}`);
  });

  it('static: strip_prefix and rewrite pick the file; a folder redirect names the client\'s path', async () => {
    assert.equal((await fetchRaw(edge.port, '/assets/app.css')).text, 'body{}');
    assert.equal((await fetchRaw(edge.port, '/assets/old/page.txt')).text, 'new page');
    const folder = await fetchRaw(edge.port, '/assets/docs?x=1');
    assert.equal(folder.status, 308);
    assert.equal(folder.headers.location, '/assets/docs/?x=1');
    assert.equal((await fetchRaw(edge.port, '/assets/docs/')).text, '<p>docs</p>');
    // the route's own prefix still comes off a rewritten path that keeps it (as alias does)
    assert.equal((await fetchRaw(edge.port, '/files/v42/app.txt')).text, 'versioned');
    assert.equal((await fetchRaw(edge.port, '/files/app.txt')).text, 'versioned');
  });

  it('WebSocket upgrades reach the upstream with the stripped path', async () => {
    const first = await new Promise<string>((resolve, reject) => {
      const ws = new WebSocket(`ws://127.0.0.1:${edge.port}/api/live?room=1`, { headers: { host: 'test.example' } });
      ws.once('message', (data) => {
        resolve(data.toString());
        ws.close();
      });
      ws.once('unexpected-response', (_req, res) => reject(new Error(`status ${res.statusCode}`)));
      ws.once('error', reject);
    });
    assert.equal(first, 'ws /live?room=1');
  });
});
