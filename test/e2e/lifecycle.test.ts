// Starting and stopping: graceful drain on SIGTERM, the grace period, log reopening on SIGUSR1,
// and start-up failures that exit 1 before serving anything.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { freePort, runEdge, startEdge, waitFor, logMessages } from '../helpers/edge.ts';
import { startUpstream } from '../helpers/upstream.ts';
import { writeConfig } from '../helpers/config.ts';
import { fetchRaw } from '../helpers/http.ts';

describe('graceful stop', () => {
  it('SIGTERM lets a slow in-flight request finish, refuses new connections, exits 0', async () => {
    const up = await startUpstream((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('part one, ');
      setTimeout(() => res.end('part two'), 1000);
    });
    const edge = await startEdge(['--domain', 'test.example', '--to', up.address, '--http-port', '{port}', '--tls', 'off', '--bind', '127.0.0.1']);
    try {
      const slow = fetchRaw(edge.port, '/slow');
      await waitFor(() => up.requests.length === 1, 'upstream got the request');
      edge.proc.kill('SIGTERM');
      await waitFor(() => /stopping: waiting up to 30s for 1 request/.test(logMessages(edge.stderr())), 'drain message');
      await assert.rejects(fetchRaw(edge.port, '/new'), /ECONNREFUSED/);
      const a = await slow;
      assert.equal(a.status, 200);
      assert.equal(a.text, 'part one, part two');
      assert.equal(await edge.exited, 0);
      assert.match(logMessages(edge.stderr()), /stopped\n/);
      assert.match(edge.stdout(), /"GET \/slow HTTP\/1.1" 200 18 /);
    } finally {
      await edge.stop();
      await up.close();
    }
  });

  it('after grace_period, requests still running are cut off and edge exits 0', async () => {
    const up = await startUpstream(() => {});
    const port = await freePort();
    const { file } = writeConfig(`
http_port: ${port}
bind: 127.0.0.1
grace_period: 300ms
sites:
  - hosts: [test.example]
    tls: off
    routes: [{ proxy: { to: ${up.address} } }]
`);
    const edge = await startEdge(['run', '-c', file], { port });
    try {
      const stuck = fetchRaw(port, '/stuck').catch((err: Error) => err);
      await waitFor(() => up.requests.length === 1, 'upstream got the request');
      edge.proc.kill('SIGTERM');
      assert.equal(await edge.exited, 0);
      assert.match(String(await stuck), /socket hang up|ECONNRESET/);
      assert.match(logMessages(edge.stderr()), /grace period over, 1 request\(s\) cut off/);
    } finally {
      await edge.stop();
      await up.close();
    }
  });
});

describe('log files', () => {
  it('SIGUSR1 reopens the access log, so a rotated file starts afresh', async () => {
    const up = await startUpstream((_req, res) => res.end('ok'));
    const port = await freePort();
    const log = join(mkdtempSync(join(tmpdir(), 'edge-log-')), 'access.log');
    const { file } = writeConfig(`
http_port: ${port}
bind: 127.0.0.1
log: { access: ${log}, format: json }
sites:
  - hosts: [test.example]
    tls: off
    routes: [{ proxy: { to: ${up.address} } }]
`);
    const edge = await startEdge(['run', '-c', file], { port });
    try {
      await fetchRaw(port, '/before');
      await waitFor(() => existsSync(log) && readFileSync(log, 'utf8').includes('/before'), 'first line');
      renameSync(log, `${log}.1`);
      edge.proc.kill('SIGUSR1');
      await waitFor(() => /log files reopened/.test(logMessages(edge.stderr())), 'reopen message');
      await fetchRaw(port, '/after');
      await waitFor(() => existsSync(log) && readFileSync(log, 'utf8').includes('/after'), 'line in the new file');
      const entry = JSON.parse(readFileSync(log, 'utf8').trim());
      assert.equal(entry.uri, '/after');
      assert.equal(entry.status, 200);
      assert.equal(entry.upstream, up.address);
      assert.doesNotMatch(readFileSync(`${log}.1`, 'utf8'), /\/after/);
    } finally {
      await edge.stop();
      await up.close();
    }
  });
});

describe('start-up failures', () => {
  it('a port in use: one clear line, exit 1', async () => {
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const port = (blocker.address() as { port: number }).port;
    try {
      const r = await runEdge(['--domain', 'test.example', '--http-port', String(port), '--bind', '127.0.0.1', '--tls', 'off']);
      assert.equal(r.code, 1);
      assert.equal(r.stderr, `edge: cannot listen on 127.0.0.1:${port}: the address is already in use\n`);
    } finally {
      blocker.close();
    }
  });

  it('a bad config: file:line:col and exit 1, nothing listening', async () => {
    const port = await freePort();
    const { file } = writeConfig(`http_port: ${port}\nsites:\n  - hosts: [a.example]\n    routes: [{ proxy: { to: nowhere } }]\n`);
    const r = await runEdge(['run', '-c', file]);
    assert.equal(r.code, 1);
    assert.equal(r.stderr, `${file}:4:29: sites[0].routes[0].proxy.to: expected host:port, http://host:port, https://host:port or unix:/path, got "nowhere"\n`);
    await assert.rejects(fetchRaw(port, '/'), /ECONNREFUSED/);
  });
});
