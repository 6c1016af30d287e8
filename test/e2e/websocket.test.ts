// WebSocket upgrades pass through edge to TCP and Unix-socket upstreams and echo both ways;
// upgrades edge should not pass are refused with a status, not left hanging.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { WebSocket, WebSocketServer } from 'ws';
import { freePort, startEdge, waitFor, logMessages } from '../helpers/edge.ts';
import { startUpstream } from '../helpers/upstream.ts';
import { writeConfig } from '../helpers/config.ts';

function open(port: number, path: string, host = 'test.example'): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}${path}`, { headers: { host } });
    ws.once('open', () => resolve(ws));
    ws.once('unexpected-response', (_req, res) => reject(new Error(`status ${res.statusCode}`)));
    ws.once('error', reject);
  });
}

function roundTrip(ws: WebSocket, message: string): Promise<string> {
  return new Promise((resolve) => {
    ws.once('message', (data) => resolve(data.toString()));
    ws.send(message);
  });
}

describe('websockets through edge', () => {
  for (const kind of ['tcp', 'unix'] as const) {
    it(`echo over a ${kind} upstream, and the upstream sees the forwarded headers`, async () => {
      const up = await startUpstream((_req, res) => res.end('plain'), { unix: kind === 'unix' });
      const wss = new WebSocketServer({ server: up.server });
      const seenHeaders: Record<string, string | string[] | undefined>[] = [];
      wss.on('connection', (ws, req) => {
        seenHeaders.push(req.headers);
        ws.on('message', (data) => ws.send(`echo:${data.toString()}`));
      });
      const edge = await startEdge(['--domain', 'test.example', '--to', up.address, '--http-port', '{port}', '--tls', 'off', '--bind', '127.0.0.1']);
      try {
        const ws = await open(edge.port, '/chat?room=1');
        for (let i = 0; i < 20; i++) assert.equal(await roundTrip(ws, `m${i}`), `echo:m${i}`);
        const big = 'x'.repeat(256 * 1024);
        assert.equal(await roundTrip(ws, big), `echo:${big}`);
        ws.close();
        await new Promise((r) => ws.once('close', r));
        assert.equal(seenHeaders[0]!['x-forwarded-for'], '127.0.0.1');
        assert.equal(seenHeaders[0]!['x-forwarded-proto'], 'http');
        assert.equal(seenHeaders[0]!.host, 'test.example');
        await waitFor(() => /"GET \/chat\?room=1 HTTP\/1.1" 101 /.test(edge.stdout()), 'access log line with 101');
      } finally {
        await edge.stop();
        wss.close();
        await up.close();
      }
    });
  }

  it('refuses upgrades for unknown hosts (404) and routes with websocket off (400)', async () => {
    const up = await startUpstream((_req, res) => res.end('plain'));
    const wss = new WebSocketServer({ server: up.server });
    let connections = 0;
    wss.on('connection', () => connections++);
    const port = await freePort();
    const { file } = writeConfig(`
http_port: ${port}
bind: 127.0.0.1
sites:
  - hosts: [test.example]
    tls: off
    routes:
      - match: /nows/
        proxy: { to: ${up.address}, websocket: false }
      - proxy: { to: ${up.address} }
`);
    const edge = await startEdge(['run', '-c', file], { port });
    try {
      await assert.rejects(open(port, '/chat', 'evil.example'), /status 404/);
      await assert.rejects(open(port, '/nows/chat'), /status 400/);
      const ws = await open(port, '/chat');
      assert.equal(connections, 1);
      ws.close();
    } finally {
      await edge.stop();
      wss.close();
      await up.close();
    }
  });

  it('answers 502 when the upstream is not listening', async () => {
    const dead = await freePort();
    const edge = await startEdge(['--domain', 'test.example', '--to', `127.0.0.1:${dead}`, '--http-port', '{port}', '--tls', 'off', '--bind', '127.0.0.1']);
    try {
      await assert.rejects(open(edge.port, '/chat'), /status 502/);
      await waitFor(() => /websocket \/chat on test.example: upstream 127.0.0.1:\d+ refused the connection/.test(logMessages(edge.stderr())), 'error log line');
    } finally {
      await edge.stop();
    }
  });
});
