// The commands that ask a running edge, pointed at the right one. `edge check` on the file of the
// edge that is serving it said "port N is already in use" and exited 1 (the systemd unit tells
// the user to run it when a reload fails); it now says ok and which pid holds the ports. The
// one-liner's admin endpoint could not be named (`edge certs --admin ADDR` was refused), so the
// commands read whatever answered on 127.0.0.1:2019; every admin command now takes --admin and
// says which instance answered.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, runEdge, startEdge, type EdgeProcess } from '../helpers/edge.ts';
import { writeConfig } from '../helpers/config.ts';

describe('edge check on the config of the running edge', () => {
  let edge: EdgeProcess;
  let file: string;
  let port: number;
  before(async () => {
    port = await freePort();
    ({ file } = writeConfig(`
http_port: ${port}
bind: 127.0.0.1
admin: 127.0.0.1:${await freePort()}
sites: [{ hosts: [test.example], tls: off, routes: [{ respond: { body: hi } }] }]
`));
    edge = await startEdge(['run', '-c', file], { port });
  });
  after(async () => {
    await edge?.stop();
  });

  it('says ok (ports held by the running edge, pid N) instead of "port is already in use"', async () => {
    const r = await runEdge(['check', '-c', file]);
    assert.deepEqual([r.code, r.stdout, r.stderr], [0, `${file}: ok (ports held by the running edge, pid ${edge.proc.pid})\n`, '']);
  });

  it('another file wanting the same port still fails, though the same edge answers at its admin address', async () => {
    const { file: other } = writeConfig(readFileSync(file, 'utf8'));
    const r = await runEdge(['check', '-c', other]);
    assert.equal(r.code, 1, r.stdout);
    assert.match(r.stderr, new RegExp(`http_port: 127\\.0\\.0\\.1 port ${port} is already in use\n$`));
  });
});

describe('admin commands with --admin, for a one-liner', () => {
  let edge: EdgeProcess;
  let admin: string;
  before(async () => {
    admin = `127.0.0.1:${await freePort()}`;
    const storage = mkdtempSync(join(tmpdir(), 'edge-certs-'));
    edge = await startEdge(['--domain', 'localhost', '--http-port', '{port}', '--https-port', String(await freePort()), '--bind', '127.0.0.1',
      '--tls', 'internal', '--storage', storage, '--cache', '1MB', '--admin', admin]);
  });
  after(async () => {
    await edge?.stop();
  });

  const who = () => `edge pid ${edge.proc.pid} \\(command line\\) at http://${admin.replaceAll('.', '\\.')}`;

  it('edge certs --admin ADDR lists the one-liner\'s certificates and says which instance answered', async () => {
    const r = await runEdge(['certs', '--admin', admin]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`^from running ${who()}\\n`));
    assert.match(r.stdout, /^localhost\s+local\s/m);
  });

  it('edge cache --admin ADDR and edge health --admin ADDR name the instance', async () => {
    const cache = await runEdge(['cache', '--admin', admin]);
    assert.equal(cache.code, 0, cache.stderr);
    assert.match(cache.stdout, new RegExp(`^from running ${who()}\\nlocalhost: 0 entries`));
    const health = await runEdge(['health', '--admin', admin]);
    assert.deepEqual([health.code, health.stderr], [0, '']);
    assert.match(health.stdout, new RegExp(`^ok: ${who()}\\n$`));
  });

  it('edge reload --admin ADDR asks that instance, which says it has no file to reload', async () => {
    const r = await runEdge(['reload', '--admin', admin]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /started from the command line: there is no config file to reload/);
  });

  it('a bad --admin is refused in one line, and nothing answering is said as such', async () => {
    const bad = await runEdge(['certs', '--admin', 'nonsense']);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /^edge: --admin: expected the running edge's admin endpoint as host:port or unix:\/path, got "nonsense"/);
    const nobody = `127.0.0.1:${await freePort()}`;
    const none = await runEdge(['health', '--admin', nobody]);
    assert.equal(none.code, 1);
    assert.match(none.stderr, new RegExp(`^edge: no running edge answers at http://${nobody.replaceAll('.', '\\.')}`));
  });
});
