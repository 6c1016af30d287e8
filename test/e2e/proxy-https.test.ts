// HTTPS upstreams: a real node:https app with a certificate from a throwaway CA. Verified against
// proxy.tls.ca, with SNI from the address or tls.server_name; without the CA, or with a name the
// certificate does not hold, 502 and a log line that says why; tls.verify: false works but is
// warned about; keep-alive, named pools with health checks over TLS, and WebSockets.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { WebSocket, WebSocketServer } from 'ws';
import { freePort, logMessages, startEdge, waitFor, type EdgeProcess } from '../helpers/edge.ts';
import { writeConfig } from '../helpers/config.ts';
import { fetchRaw } from '../helpers/http.ts';
import { startTlsUpstream, type TlsUpstream } from '../helpers/tls-upstream.ts';

describe('https upstreams', () => {
  let up: TlsUpstream;
  let edge: EdgeProcess;
  let file: string;
  before(async () => {
    up = await startTlsUpstream(['app.internal', 'localhost'], (req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(`secure ${req.url}`);
    });
    const wss = new WebSocketServer({ server: up.server });
    wss.on('connection', (ws) => ws.on('message', (data) => ws.send(`tls-echo:${data.toString()}`)));
    const port = await freePort();
    const target = `https://127.0.0.1:${up.port}`;
    ({ file } = writeConfig(`
http_port: ${port}
bind: 127.0.0.1
admin: off
upstreams:
  checked:
    to: ${target}
    tls: { ca: ${up.caFile}, server_name: app.internal }
    health: { path: /healthz, interval: 200ms }
sites:
  - hosts: [test.example]
    tls: off
    routes:
      - match: /named/
        proxy: { upstream: checked }
      - match: /by-host/
        proxy: { to: "https://localhost:${up.port}", tls: { ca: ${up.caFile} } }
      - match: /by-name/
        proxy: { to: ${target}, tls: { ca: ${up.caFile}, server_name: app.internal } }
      - match: /untrusted/
        proxy: { to: ${target}, tls: { server_name: app.internal }, retries: 0 }
      - match: /wrong-name/
        proxy: { to: ${target}, tls: { ca: ${up.caFile}, server_name: other.internal }, retries: 0 }
      - match: /unverified/
        proxy: { to: ${target}, tls: { verify: false } }
`));
    edge = await startEdge(['run', '-c', file], { port });
  });
  after(async () => {
    await edge.stop();
    await up.close();
  });

  it('verifies the certificate against tls.ca, with SNI from tls.server_name', async () => {
    const a = await fetchRaw(edge.port, '/by-name/x?q=1');
    assert.equal(a.status, 200);
    assert.equal(a.text, 'secure /by-name/x?q=1');
    assert.ok(up.serverNames.includes('app.internal'), `SNI seen: ${up.serverNames.join(', ')}`);
  });

  it('sends the address\'s host name as SNI and checks the certificate against it', async () => {
    const a = await fetchRaw(edge.port, '/by-host/y');
    assert.equal(a.status, 200);
    assert.equal(a.text, 'secure /by-host/y');
    assert.ok(up.serverNames.includes('localhost'), `SNI seen: ${up.serverNames.join(', ')}`);
  });

  it('keeps TLS connections alive across requests', async () => {
    for (let i = 0; i < 5; i++) assert.equal((await fetchRaw(edge.port, `/by-name/keep-${i}`)).status, 200);
    const sockets = new Set(up.requests.filter((r) => r.url!.startsWith('/by-name/keep-')).map((r) => r.socket));
    assert.equal(sockets.size, 1, 'five sequential requests over one TLS connection');
  });

  it('answers 502 for a certificate no trusted CA signed, and logs why', async () => {
    const a = await fetchRaw(edge.port, '/untrusted/z');
    assert.equal(a.status, 502);
    // the named pool's health checks reach the same server meanwhile: look for this request only
    assert.ok(!up.requests.some((r) => r.url === '/untrusted/z'), 'nothing was sent over the untrusted connection');
    await waitFor(() => /upstream https:\/\/127\.0\.0\.1:\d+ TLS: its certificate is not signed by a trusted CA: set proxy\.tls\.ca/.test(logMessages(edge.stderr())), () => `log line, got:\n${edge.stderr()}`);
  });

  it('answers 502 when the certificate is not for tls.server_name', async () => {
    const a = await fetchRaw(edge.port, '/wrong-name/z');
    assert.equal(a.status, 502);
    await waitFor(() => /TLS: its certificate is not for the name edge checked .*ERR_TLS_CERT_ALTNAME_INVALID/.test(logMessages(edge.stderr())), () => `log line, got:\n${edge.stderr()}`);
  });

  it('with tls.verify: false, proxies to any certificate and warns at start', async () => {
    assert.equal((await fetchRaw(edge.port, '/unverified/w')).text, 'secure /unverified/w');
    assert.match(edge.stderr(), new RegExp(`${file}:\\d+:\\d+: warning: sites\\[0\\]\\.routes\\[5\\]\\.proxy\\.tls\\.verify: tls\\.verify is false`));
  });

  it('runs a named pool\'s health checks over TLS with its settings', async () => {
    await waitFor(() => up.requests.some((r) => r.url === '/healthz'), 'a health check over TLS');
    assert.equal((await fetchRaw(edge.port, '/named/n')).text, 'secure /named/n');
  });

  it('passes WebSocket upgrades to the https upstream, verified the same way', async () => {
    const ws = await new Promise<WebSocket>((resolve, reject) => {
      const s = new WebSocket(`ws://127.0.0.1:${edge.port}/by-name/ws`, { headers: { host: 'test.example' } });
      s.once('open', () => resolve(s));
      s.once('unexpected-response', (_req, res) => reject(new Error(`status ${res.statusCode}`)));
      s.once('error', reject);
    });
    try {
      const reply = await new Promise<string>((resolve) => {
        ws.once('message', (data) => resolve(data.toString()));
        ws.send('hello');
      });
      assert.equal(reply, 'tls-echo:hello');
    } finally {
      ws.close();
    }
    const refused = await new Promise<number>((resolve, reject) => {
      const s = new WebSocket(`ws://127.0.0.1:${edge.port}/untrusted/ws`, { headers: { host: 'test.example' } });
      s.once('unexpected-response', (_req, res) => resolve(res.statusCode!));
      s.once('open', () => reject(new Error('upgraded over an untrusted certificate')));
      s.once('error', reject);
    });
    assert.equal(refused, 502);
  });
});
