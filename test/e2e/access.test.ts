// A route's access: allow/deny (403) and basic_auth (401 with WWW-Authenticate) over real sockets;
// a refused client never reaches the upstream, and the password never does unless forward_auth.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect } from 'node:net';
import bcrypt from 'bcryptjs';
import { freePort, startEdge, type EdgeProcess } from '../helpers/edge.ts';
import { startUpstream, type Upstream } from '../helpers/upstream.ts';
import { fetchRaw } from '../helpers/http.ts';
import { writeConfig } from '../helpers/config.ts';

const basic = (user: string, password: string) => ({ authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` });

describe('access', () => {
  let up: Upstream;
  let edge: EdgeProcess;
  let port: number;

  before(async () => {
    up = await startUpstream((req, res) => res.end(`app saw ${req.url} auth=${req.headers.authorization ?? 'none'}`));
    port = await freePort();
    const alice = bcrypt.hashSync('wonderland', 4);
    const { dir, file } = writeConfig('');
    const htpasswd = join(dir, 'htpasswd');
    writeFileSync(htpasswd, `# staff\nbob:${bcrypt.hashSync('builder', 4)}\n`);
    writeFileSync(file, `
http_port: ${port}
bind: 127.0.0.1
admin: off
trusted_proxies: [127.0.0.1]
sites:
  - hosts: [test.example]
    tls: off
    routes:
      - match: /denied/
        access: { deny: [127.0.0.0/8] }
        proxy: { to: ${up.address} }
      - match: /only-ten/
        access: { allow: [10.0.0.0/8] }
        proxy: { to: ${up.address} }
      - match: /office/
        access: { allow: [198.51.100.0/24, 127.0.0.1], deny: [all] }
        proxy: { to: ${up.address} }
      - match: /staff/
        access:
          basic_auth: { realm: Staff, users: { alice: "${alice}" }, users_file: ${htpasswd} }
        proxy: { to: ${up.address} }
      - match: /forwarded/
        access:
          basic_auth: { users: { alice: "${alice}" }, forward_auth: true }
        proxy: { to: ${up.address} }
      - match: /
        proxy: { to: ${up.address} }
`);
    edge = await startEdge(['run', '-c', file], { port });
  });

  after(async () => {
    await edge.stop();
    await up.close();
  });

  it('a denied client gets 403 and never reaches the upstream', async () => {
    const before = up.requests.length;
    const a = await fetchRaw(port, '/denied/x');
    assert.equal(a.status, 403);
    const b = await fetchRaw(port, '/only-ten/x');
    assert.equal(b.status, 403, 'an allow list lets in only what it lists');
    assert.equal(up.requests.length, before);
    const c = await fetchRaw(port, '/other');
    assert.equal(c.status, 200, 'routes without access are open');
  });

  it('allow and deny see the client behind a trusted proxy', async () => {
    const ok = await fetchRaw(port, '/office/a', { headers: { 'x-forwarded-for': '198.51.100.4' } });
    assert.equal(ok.status, 200);
    const before = up.requests.length;
    const no = await fetchRaw(port, '/office/a', { headers: { 'x-forwarded-for': '6.6.6.6' } });
    assert.equal(no.status, 403);
    assert.equal(up.requests.length, before);
  });

  it('basic_auth: 401 with WWW-Authenticate without or with wrong credentials, never reaching the upstream', async () => {
    const before = up.requests.length;
    const none = await fetchRaw(port, '/staff/');
    assert.equal(none.status, 401);
    assert.equal(none.headers['www-authenticate'], 'Basic realm="Staff", charset="UTF-8"');
    for (const [user, password] of [['alice', 'wrong'], ['bob', 'wonderland'], ['mallory', 'x'], ['alice', '']]) {
      const r = await fetchRaw(port, '/staff/', { headers: basic(user!, password!) });
      assert.equal(r.status, 401, `${user}:${password}`);
    }
    const garbage = await fetchRaw(port, '/staff/', { headers: { authorization: 'Basic !!!' } });
    assert.equal(garbage.status, 401);
    assert.equal(up.requests.length, before);
  });

  it('a WebSocket upgrade is gated too: 403 and 401 before the upstream sees it', async () => {
    const upgrade = (path: string, extra = '') => new Promise<string>((resolve, reject) => {
      const socket = connect(port, '127.0.0.1', () => socket.write(`GET ${path} HTTP/1.1\r\nHost: test.example\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n${extra}\r\n`));
      let got = '';
      socket.on('data', (d) => (got += d));
      socket.on('close', () => resolve(got));
      socket.on('error', reject);
      socket.setTimeout(5000, () => socket.destroy(new Error('no answer')));
    });
    let upgrades = 0;
    up.server.on('upgrade', (_req, socket) => {
      upgrades++;
      socket.destroy();
    });
    assert.match(await upgrade('/denied/ws'), /^HTTP\/1\.1 403 /);
    const unauthorised = await upgrade('/staff/ws', `Authorization: ${basic('alice', 'nope').authorization}\r\n`);
    assert.match(unauthorised, /^HTTP\/1\.1 401 /);
    assert.match(unauthorised, /www-authenticate: Basic realm="Staff"/i);
    assert.equal(upgrades, 0);
  });

  it('basic_auth: the right password (inline or from users_file) passes, Authorization kept from the upstream', async () => {
    const a = await fetchRaw(port, '/staff/a', { headers: basic('alice', 'wonderland') });
    assert.equal(a.status, 200);
    assert.equal(a.text, 'app saw /staff/a auth=none');
    const b = await fetchRaw(port, '/staff/b', { headers: basic('bob', 'builder') });
    assert.equal(b.text, 'app saw /staff/b auth=none');
    // a second time from the cache
    const c = await fetchRaw(port, '/staff/c', { headers: basic('bob', 'builder') });
    assert.equal(c.status, 200);
    const d = await fetchRaw(port, '/forwarded/', { headers: basic('alice', 'wonderland') });
    assert.equal(d.text, `app saw /forwarded/ auth=${basic('alice', 'wonderland').authorization}`);
  });
});
