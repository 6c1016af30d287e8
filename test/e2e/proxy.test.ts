// The proxy path end to end: one-liner and config file, TCP and Unix-socket upstreams, the
// headers the upstream and the client see, and hosts edge does not serve.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, startEdge, waitFor, type EdgeProcess } from '../helpers/edge.ts';
import { echo, startUpstream, type Upstream } from '../helpers/upstream.ts';
import { fetchRaw } from '../helpers/http.ts';

describe('proxying from the one-liner', () => {
  for (const kind of ['tcp', 'unix'] as const) {
    it(`reaches a ${kind} upstream, bytes and status intact`, async () => {
      const up = await startUpstream((req, res) => {
        res.writeHead(201, { 'x-from': 'app', 'content-type': 'text/plain' });
        res.end(`you asked for ${req.url}`);
      }, { unix: kind === 'unix' });
      const edge = await startEdge(['--domain', 'test.example', '--to', up.address, '--http-port', '{port}', '--tls', 'off', '--bind', '127.0.0.1']);
      try {
        const a = await fetchRaw(edge.port, '/some/path?x=1&y=%20');
        assert.equal(a.status, 201);
        assert.equal(a.headers['x-from'], 'app');
        assert.equal(a.text, 'you asked for /some/path?x=1&y=%20');
        assert.equal(up.requests.length, 1);
        await waitFor(() => /"GET \/some\/path\?x=1&y=%20 HTTP\/1.1" 201 34 /.test(edge.stdout()), 'access log line');
      } finally {
        await edge.stop();
        await up.close();
      }
    });
  }
});

describe('proxying from a config file', () => {
  let tcp: Upstream;
  let unix: Upstream;
  let edge: EdgeProcess;
  before(async () => {
    tcp = await startUpstream((req, res) => res.end(`tcp ${req.url}`));
    unix = await startUpstream((req, res) => res.end(`unix ${req.url}`), { unix: true });
    const dir = mkdtempSync(join(tmpdir(), 'edge-conf-'));
    const file = join(dir, 'edge.yaml');
    const port = await freePort();
    writeFileSync(file, `
http_port: ${port}
bind: 127.0.0.1
log: { access: off }
sites:
  - hosts: [test.example, "*.wild.example"]
    tls: off
    routes:
      - match: /api/
        proxy: { to: ${tcp.address} }
      - match: =/moved
        redirect: { to: "https://{host}/new{uri}", status: 301 }
      - match: ~^/hello/[0-9]+$
        respond: { status: 200, body: "hi\\n", headers: { X-Kind: fixed } }
      - match: /
        proxy: { to: ${unix.address} }
`);
    edge = await startEdge(['run', '-c', file], { port });
  });
  after(async () => {
    await edge.stop();
    await tcp.close();
    await unix.close();
  });

  it('sends a prefix route to the TCP upstream and the rest to the Unix socket', async () => {
    assert.equal((await fetchRaw(edge.port, '/api/v1')).text, 'tcp /api/v1');
    assert.equal((await fetchRaw(edge.port, '/apiary')).text, 'unix /apiary');
    assert.equal((await fetchRaw(edge.port, '/')).text, 'unix /');
  });

  it('matches hosts whatever their case and port, and one-label wildcards', async () => {
    assert.equal((await fetchRaw(edge.port, '/x', { headers: { host: 'TEST.Example:8443' } })).text, 'unix /x');
    assert.equal((await fetchRaw(edge.port, '/x', { headers: { host: 'a.wild.example' } })).text, 'unix /x');
    assert.equal((await fetchRaw(edge.port, '/x', { headers: { host: 'a.b.wild.example' } })).status, 404);
    assert.equal((await fetchRaw(edge.port, '/x', { headers: { host: 'wild.example' } })).status, 404);
  });

  it('routes on the normalised path, so encodings and dot segments cannot dodge a route', async () => {
    assert.equal((await fetchRaw(edge.port, '/%61pi/x')).text, 'tcp /%61pi/x');
    assert.equal((await fetchRaw(edge.port, '/static/../api/x')).text, 'tcp /static/../api/x');
    assert.equal((await fetchRaw(edge.port, '/../etc/passwd')).status, 400);
    assert.equal((await fetchRaw(edge.port, '/%zz')).status, 400);
  });

  it('answers exact-match redirects and regex fixed responses itself', async () => {
    const r = await fetchRaw(edge.port, '/moved?a=1');
    assert.equal(r.status, 301);
    assert.equal(r.headers.location, 'https://test.example/new/moved?a=1');
    const fixed = await fetchRaw(edge.port, '/hello/42');
    assert.equal(fixed.status, 200);
    assert.equal(fixed.headers['x-kind'], 'fixed');
    assert.equal(fixed.text, 'hi\n');
    assert.equal((await fetchRaw(edge.port, '/hello/x')).text, 'unix /hello/x');
  });

  it('never proxies a host it does not serve: 404 and the upstreams see nothing', async () => {
    const before = tcp.requests.length + unix.requests.length;
    for (const host of ['evil.example', 'localhost', '127.0.0.1', 'test.example.evil']) {
      const a = await fetchRaw(edge.port, '/api/x', { headers: { host } });
      assert.equal(a.status, 404, host);
    }
    const absolute = await fetchRaw(edge.port, 'http://evil.example/api/x');
    assert.equal(absolute.status, 404);
    assert.equal(tcp.requests.length + unix.requests.length, before);
  });

  it('takes an absolute-form request target for a host it serves', async () => {
    assert.equal((await fetchRaw(edge.port, 'http://test.example/api/abs?q=1', { headers: { host: 'other' } })).text, 'tcp /api/abs?q=1');
  });
});

describe('headers across the proxy', () => {
  let up: Upstream;
  let edge: EdgeProcess;
  before(async () => {
    up = await startUpstream((req, res) => {
      if (req.url === '/hop') {
        res.writeHead(200, [
          'Connection', 'keep-alive, X-Private', 'X-Private', 'secret', 'Keep-Alive', 'timeout=5',
          'Proxy-Authenticate', 'Basic', 'Upgrade', 'h2c',
          'Set-Cookie', 'a=1', 'Set-Cookie', 'b=2', 'X-Public', 'yes', 'Content-Length', '2',
        ]);
        res.end('ok');
        return;
      }
      echo(req, res);
    });
    edge = await startEdge(['--domain', 'test.example', '--to', up.address, '--http-port', '{port}', '--tls', 'off', '--bind', '127.0.0.1', '--access-log', 'off']);
  });
  after(async () => {
    await edge.stop();
    await up.close();
  });

  it('sets X-Forwarded-For (appended), X-Real-IP, X-Forwarded-Proto and -Host, and keeps Host', async () => {
    const a = await fetchRaw(edge.port, '/h', {
      headers: { host: 'test.example:1234', 'x-forwarded-for': '203.0.113.9', 'x-forwarded-proto': 'https', 'x-real-ip': '1.2.3.4' },
    });
    const seen = JSON.parse(a.text).headers;
    assert.equal(seen.host, 'test.example:1234');
    assert.equal(seen['x-forwarded-for'], '203.0.113.9, 127.0.0.1');
    assert.equal(seen['x-real-ip'], '127.0.0.1');
    assert.equal(seen['x-forwarded-proto'], 'http');
    assert.equal(seen['x-forwarded-host'], 'test.example:1234');
  });

  it('strips hop-by-hop request headers and those the client lists in Connection', async () => {
    const a = await fetchRaw(edge.port, '/h', {
      headers: {
        connection: 'keep-alive, X-Hop-Secret', 'x-hop-secret': 'no', 'keep-alive': 'timeout=5', te: 'trailers',
        'proxy-authorization': 'Basic eA==', 'proxy-connection': 'keep-alive', 'x-end-to-end': 'yes',
      },
    });
    const seen = JSON.parse(a.text).headers;
    for (const name of ['x-hop-secret', 'keep-alive', 'te', 'proxy-authorization', 'proxy-connection']) {
      assert.equal(seen[name], undefined, name);
    }
    // what reaches the app is edge's own connection management, never a token the client listed
    const tokens = String(seen.connection ?? '').split(',').map((t) => t.trim().toLowerCase()).filter((t) => t !== '');
    assert.ok(tokens.every((t) => t === 'keep-alive' || t === 'close'), `Connection to the upstream: ${seen.connection}`);
    assert.doesNotMatch(JSON.stringify(seen), /hop-secret/i, 'X-Hop-Secret is gone, as a header and as a token');
    assert.equal(seen['x-end-to-end'], 'yes');
  });

  it('strips hop-by-hop response headers, keeps repeated Set-Cookie', async () => {
    const a = await fetchRaw(edge.port, '/hop');
    assert.equal(a.text, 'ok');
    for (const name of ['x-private', 'proxy-authenticate', 'upgrade']) assert.equal(a.headers[name], undefined, name);
    assert.notEqual(a.headers['keep-alive'], 'timeout=5');
    assert.deepEqual(a.headers['set-cookie'], ['a=1', 'b=2']);
    assert.equal(a.headers['x-public'], 'yes');
  });
});
