// Out of file descriptors: edge under `prlimit --nofile=64:64` says its limit in the banner and
// warns that it is low; 100 connections opened one after another exhaust it, and edge logs the
// failed accepts at most once a second with what to do (not a line per connection); a request on
// a connection it already held gets a 502 whose upstream connect failed the same way, without
// the upstream being counted as failing; and once the connections close it serves again.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { connect, type Socket } from 'node:net';
import { freePort, logMessages, startEdge, waitFor, type EdgeProcess } from '../helpers/edge.ts';
import { startUpstream, type Upstream } from '../helpers/upstream.ts';
import { fetchRaw } from '../helpers/http.ts';
import { writeConfig } from '../helpers/config.ts';
import { readUntil } from '../helpers/raw.ts';

const prlimit = spawnSync('prlimit', ['--version']).status === 0;
const ACCEPT_LINE = /no file descriptor left for new connections \(EMFILE: too many open files, limit 64 per process\)/;

function open(port: number): Promise<Socket> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1', () => resolve(s));
    // edge closes or resets what it cannot take: that is the point
    s.on('error', () => resolve(s));
  });
}

describe('open files', { skip: prlimit ? false : 'prlimit (util-linux) is not installed' }, () => {
  let up: Upstream;
  let edge: EdgeProcess;

  before(async () => {
    // every answer closes its upstream connection, so each request needs a new connect
    up = await startUpstream((_req, res) => {
      res.setHeader('connection', 'close');
      res.end('ok');
    });
    const port = await freePort();
    const { file } = writeConfig(`
http_port: ${port}
bind: 127.0.0.1
admin: off
workers: 1
sites:
  - hosts: [test.example]
    tls: off
    routes:
      - match: /
        proxy: { to: ${up.address} }
`);
    edge = await startEdge(['run', '-c', file], { port, wrap: ['prlimit', '--nofile=64:64'] });
  });
  after(async () => {
    await edge?.stop();
    await up?.close();
  });

  it('the banner gives the limit and the low limit is a warning', () => {
    const log = logMessages(edge.stderr());
    assert.match(log, /open files 64 per process\n/);
    assert.match(log, /open files: the limit is 64 per process, below the \d+ that 1024 proxied connections need .* LimitNOFILE=/);
  });

  it('100 connections: accept failures logged once a second, a 502 for the upstream connect, then serving again', async () => {
    assert.equal((await fetchRaw(edge.port, '/')).status, 200);
    // five connections edge holds before the flood: five upstream connects fail in the same second
    const held = await Promise.all([1, 2, 3, 4, 5].map(() => open(edge.port)));
    const flood: Socket[] = [];
    const started = performance.now();
    try {
      for (let n = 0; n < 100; n++) {
        flood.push(await open(edge.port));
        await new Promise((r) => setTimeout(r, 20));
      }
      await waitFor(() => ACCEPT_LINE.test(logMessages(edge.stderr())), 'the EMFILE line', 5000);
      const replies = held.map((s) => readUntil(s, /\r\n\r\n/, 5000));
      for (const s of held) s.write('GET /held HTTP/1.1\r\nHost: test.example\r\n\r\n');
      for (const reply of replies) assert.match(await reply, /^HTTP\/1.1 502 /);
      await waitFor(() => /502 GET \/held on test.example: upstream 127\.0\.0\.1:\d+ could not be connected: edge has too many open files \(EMFILE\)/.test(logMessages(edge.stderr())), 'the 502 log line', 5000);
    } finally {
      for (const s of flood) s.destroy();
      for (const s of held) s.destroy();
    }
    const seconds = (performance.now() - started) / 1000;
    const lines = logMessages(edge.stderr()).split('\n').filter((l) => /\(EMFILE: too many open files/.test(l));
    assert.ok(lines.length >= 1 && lines.length <= Math.ceil(seconds) + 1, `${lines.length} EMFILE lines in ${seconds.toFixed(1)} s:\n${lines.join('\n')}`);
    assert.match(lines[0]!, /new connections are dropped and upstream connects fail until some close; raise it with LimitNOFILE=/);
    // closed sockets free their descriptors at once; the upstream was not marked down meanwhile
    let status = 0;
    const deadline = Date.now() + 5000;
    while (status !== 200 && Date.now() < deadline) {
      status = await fetchRaw(edge.port, '/').then((r) => r.status, () => 0);
      if (status !== 200) await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(status, 200);
    assert.doesNotMatch(logMessages(edge.stderr()), /503 GET/);
  });
});
