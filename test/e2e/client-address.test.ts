// An IPv4 client of an edge listening on [::] (the default without `bind`): Node hands its
// address over as ::ffff:127.0.0.1; the app, the access log and ip_hash must see 127.0.0.1, as
// behind nginx.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingHttpHeaders } from 'node:http';
import { WebSocketServer } from 'ws';
import { startEdge, waitFor } from '../helpers/edge.ts';
import { startUpstream } from '../helpers/upstream.ts';
import { fetchRaw } from '../helpers/http.ts';
import { openWs } from '../helpers/ws.ts';

describe('client address on a [::] listener', () => {
  it('an IPv4 client reaches the app and the access log as 127.0.0.1, not ::ffff:127.0.0.1', async () => {
    const up = await startUpstream((req, res) => res.end(`${req.headers['x-forwarded-for']}|${req.headers['x-real-ip']}`));
    const upgrades: IncomingHttpHeaders[] = [];
    const wss = new WebSocketServer({ server: up.server });
    wss.on('connection', (socket, req) => {
      upgrades.push(req.headers);
      socket.on('error', () => {});
    });
    // no --bind: edge listens on [::], dual-stack
    const edge = await startEdge(['--domain', 'test.example', '--to', up.address, '--http-port', '{port}', '--tls', 'off', '--lb', 'ip_hash']);
    try {
      assert.match(edge.stderr(), /\[::\]|:::|\*:/, 'edge listens on all addresses');
      const a = await fetchRaw(edge.port, '/who');
      assert.equal(a.status, 200);
      assert.equal(a.text, '127.0.0.1|127.0.0.1');
      await waitFor(() => /^127\.0\.0\.1 - - .*"GET \/who HTTP\/1.1" 200 /m.test(edge.stdout()), () => `an access log line from 127.0.0.1:\n${edge.stdout()}`);
      assert.doesNotMatch(edge.stdout(), /::ffff:/);

      const ws = await openWs(edge.port, '/socket');
      ws.close();
      await waitFor(() => upgrades.length === 1, 'the upgrade at the upstream');
      assert.equal(upgrades[0]!['x-forwarded-for'], '127.0.0.1');
      assert.equal(upgrades[0]!['x-real-ip'], '127.0.0.1');
      await waitFor(() => /^127\.0\.0\.1 - - .*"GET \/socket HTTP\/1.1" 101 /m.test(edge.stdout()), () => `the upgrade's access log line from 127.0.0.1:\n${edge.stdout()}`);
      assert.doesNotMatch(edge.stdout(), /::ffff:/);
    } finally {
      await edge.stop();
      wss.close();
      await up.close();
    }
  });
});
