// Logs for people and for machines: JSON error log off a terminal, readable lines on one, and one
// X-Request-Id per request in the access log, the error log and the request to the upstream.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { BIN, freePort, logRecords, ROOT, startEdge, waitFor } from '../helpers/edge.ts';
import { echo, startUpstream } from '../helpers/upstream.ts';
import { fetchRaw } from '../helpers/http.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('request ids', () => {
  it('a new id for each request, sent upstream and written to the access log', async () => {
    const up = await startUpstream(echo);
    const edge = await startEdge(['--domain', 'test.example', '--to', up.address, '--http-port', '{port}', '--tls', 'off', '--bind', '127.0.0.1', '--admin', 'off', '--log-format', 'json']);
    try {
      const a = JSON.parse((await fetchRaw(edge.port, '/one')).text);
      const b = JSON.parse((await fetchRaw(edge.port, '/two')).text);
      assert.match(a.headers['x-request-id'], UUID);
      assert.match(b.headers['x-request-id'], UUID);
      assert.notEqual(a.headers['x-request-id'], b.headers['x-request-id']);
      await waitFor(() => edge.stdout().split('\n').length > 2, 'two access log lines');
      const lines = edge.stdout().trim().split('\n').map((l) => JSON.parse(l));
      assert.deepEqual(lines.map((l) => [l.uri, l.request_id]), [['/one', a.headers['x-request-id']], ['/two', b.headers['x-request-id']]]);
    } finally {
      await edge.stop();
      await up.close();
    }
  });

  it('an incoming id is passed through; one unsafe to log is replaced', async () => {
    const up = await startUpstream(echo);
    const edge = await startEdge(['--domain', 'test.example', '--to', up.address, '--http-port', '{port}', '--tls', 'off', '--bind', '127.0.0.1', '--admin', 'off']);
    try {
      const kept = JSON.parse((await fetchRaw(edge.port, '/kept', { headers: { 'x-request-id': 'lb-7f3a.42' } })).text);
      assert.equal(kept.headers['x-request-id'], 'lb-7f3a.42');
      const forged = JSON.parse((await fetchRaw(edge.port, '/forged', { headers: { 'x-request-id': 'a" 200 0 "x' } })).text);
      assert.match(forged.headers['x-request-id'], UUID);
      await waitFor(() => edge.stdout().includes('/forged'), 'access log lines');
      assert.match(edge.stdout(), /"GET \/kept HTTP\/1.1" 200 \d+ "-" "-" "lb-7f3a\.42"\n/);
      assert.match(edge.stdout(), new RegExp(`"GET /forged HTTP/1.1" 200 \\d+ "-" "-" "${forged.headers['x-request-id']}"\\n`));
    } finally {
      await edge.stop();
      await up.close();
    }
  });
});

describe('error log', () => {
  it('is one JSON object a line when stderr is not a terminal, with the request id on request errors', async () => {
    const dead = await freePort();
    const edge = await startEdge(['--domain', 'test.example', '--to', `127.0.0.1:${dead}`, '--http-port', '{port}', '--tls', 'off', '--bind', '127.0.0.1', '--admin', 'off', '--log-format', 'json']);
    try {
      const r = await fetchRaw(edge.port, '/refused', { headers: { 'x-request-id': 'req-502' } });
      assert.equal(r.status, 502);
      await waitFor(() => edge.stderr().includes('refused the connection'), 'the error line');
      const lines = edge.stderr().trim().split('\n');
      for (const line of lines) assert.doesNotThrow(() => JSON.parse(line), line);
      const records = logRecords(edge.stderr());
      assert.ok(records.some((r) => r.level === 'info' && /^listening\s+http:\/\/127\.0\.0\.1:\d+$/.test(r.msg)), 'banner lines are records too');
      const error = records.find((r) => r.level === 'error')!;
      assert.match(error.msg, /^502 GET \/refused on test.example: upstream 127.0.0.1:\d+ refused the connection$/);
      assert.equal(error.request_id, 'req-502');
      assert.ok(!Number.isNaN(Date.parse(error.time!)));
      await waitFor(() => edge.stdout().includes('req-502'), 'the access line');
      const access = JSON.parse(edge.stdout().trim());
      assert.equal(access.request_id, 'req-502');
      assert.equal(access.status, 502);
    } finally {
      await edge.stop();
    }
  });

  it('is readable lines on a terminal', async () => {
    const dead = await freePort();
    const port = await freePort();
    // script(1) gives edge a pseudo-terminal as stdout and stderr
    const command = [process.execPath, BIN, '--domain', 'test.example', '--to', `127.0.0.1:${dead}`, '--http-port', String(port), '--tls', 'off', '--bind', '127.0.0.1', '--admin', 'off'].join(' ');
    const proc = spawn('script', ['-qfec', command, '/dev/null'], { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'], detached: true });
    let out = '';
    proc.stdout.on('data', (d) => (out += d));
    try {
      await waitFor(() => out.includes('listening'), () => `the banner:\n${out}`, 10_000);
      await fetchRaw(port, '/refused', { headers: { 'x-request-id': 'req-tty' } });
      await waitFor(() => out.includes('refused the connection'), () => `the error line:\n${out}`);
      assert.match(out, /^edge \S+ \(Node/m);
      assert.match(out, /^\s+listening\s+http:\/\/127\.0\.0\.1:\d+\r?$/m);
      assert.match(out, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d error 502 GET \/refused on test.example: upstream 127\.0\.0\.1:\d+ refused the connection \(request req-tty\)\r?$/m);
      assert.doesNotMatch(out, /"level"/);
    } finally {
      // script's child leads its own session: stop edge by the pid its banner names, then script
      const pid = /pid (\d+)\)/.exec(out)?.[1];
      if (pid) process.kill(Number(pid), 'SIGTERM');
      process.kill(-proc.pid!, 'SIGTERM');
      await new Promise((r) => proc.once('exit', r));
    }
  });
});
