// Loading good configs: defaults, includes from conf.d, the one-liner's equivalent, and "did you mean" suggestions.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfigFile } from '../../src/config/load.ts';
import { configFromFlags, DEFAULT_UPSTREAM } from '../../src/config/flags.ts';
import { ConfigError } from '../../src/config/errors.ts';
import { nearest } from '../../src/config/issues.ts';
import { writeConfig } from '../helpers/config.ts';

const SITE = `
sites:
  - hosts: [a.example]
    routes:
      - proxy: { to: 127.0.0.1:3000 }
`;

describe('loadConfigFile', () => {
  it('fills in every default', () => {
    const { file } = writeConfig(SITE);
    const loaded = loadConfigFile(file);
    assert.deepEqual(loaded.config, {
      http_port: 80,
      https_port: 443,
      bind: [],
      trusted_proxies: [],
      proxy_protocol: false,
      grace_period: 30_000,
      workers: 1,
      admin: '127.0.0.1:2019',
      storage: './certs',
      acme: { ca: 'letsencrypt', challenges: ['http-01', 'tls-alpn-01'], preflight: true },
      limits: {
        max_header_size: 16 * 1024,
        header_timeout: 30_000,
        max_body_size: 10 * 1024 * 1024,
        body_timeout: 60_000,
        keepalive_timeout: 75_000,
      },
      buffering: { max_temp_file_size: 1024 * 1024 * 1024 },
      log: { access: 'stdout', format: 'combined', error: 'stderr' },
      include: [],
      upstreams: {},
      sites: [{
        hosts: ['a.example'],
        routes: [{
          match: '/',
          proxy: {
            to: [{ address: { kind: 'tcp', host: '127.0.0.1', port: 3000, name: '127.0.0.1:3000' }, weight: 1, max_conns: 0, backup: false }],
            timeouts: { connect: 5000, read: 60_000 },
            websocket: true,
            buffering: { request: true, response: true },
          },
        }],
        tls: 'auto',
        https_redirect: true,
      }],
    });
    assert.deepEqual(loaded.files, [file]);
  });

  it('an empty file is a config with no sites and all defaults', () => {
    const { file } = writeConfig('');
    const { config } = loadConfigFile(file);
    assert.equal(config.http_port, 80);
    assert.deepEqual(config.sites, []);
    assert.equal(config.limits.max_body_size, 10 * 1024 * 1024);
  });

  it('keeps the values given, with units parsed and defaults for the rest of a section', () => {
    const { file } = writeConfig(`
http_port: 8080
bind: [127.0.0.1, "::1"]
grace_period: 1m30s
limits: { max_body_size: 1GiB, header_timeout: off }
log: { format: json }
sites:
  - hosts: [B.Example., "*.c.example"]
    routes:
      - match: =/up
        respond: { body: ok }
      - match: /old/
        redirect: { to: "https://b.example{uri}" }
      - max_body_size: 50MB
        proxy:
          to: [http://app:9000/, unix:/run/app.sock]
          timeouts: { read: 2m }
          websocket: false
`);
    const { config } = loadConfigFile(file);
    assert.equal(config.http_port, 8080);
    assert.deepEqual(config.bind, ['127.0.0.1', '::1']);
    assert.equal(config.grace_period, 90_000);
    assert.deepEqual(config.limits, {
      max_header_size: 16 * 1024, header_timeout: 0, max_body_size: 1024 ** 3, body_timeout: 60_000, keepalive_timeout: 75_000,
    });
    assert.deepEqual(config.log, { access: 'stdout', format: 'json', error: 'stderr' });
    const [site] = config.sites;
    assert.deepEqual(site!.hosts, ['b.example', '*.c.example']);
    assert.deepEqual(site!.routes[0], { match: '=/up', respond: { status: 200, body: 'ok', headers: {} } });
    assert.deepEqual(site!.routes[1], { match: '/old/', redirect: { to: 'https://b.example{uri}', status: 308 } });
    assert.deepEqual(site!.routes[2], {
      match: '/',
      max_body_size: 50_000_000,
      proxy: {
        to: [
          { address: { kind: 'tcp', host: 'app', port: 9000, name: 'app:9000' }, weight: 1, max_conns: 0, backup: false },
          { address: { kind: 'unix', path: '/run/app.sock', name: 'unix:/run/app.sock' }, weight: 1, max_conns: 0, backup: false },
        ],
        timeouts: { connect: 5000, read: 120_000 },
        buffering: { request: true, response: true },
        websocket: false,
      },
    });
  });

  it('adds the sites of included files, globs relative to the main file, in name order', () => {
    const { dir, file } = writeConfig(`
include: [conf.d/*.yaml, extra/one.yaml, nothing-here/*.yaml]
sites:
  - hosts: [main.example]
    routes: [{ respond: { body: main } }]
`);
    mkdirSync(join(dir, 'conf.d'));
    mkdirSync(join(dir, 'extra'));
    writeFileSync(join(dir, 'conf.d', 'b.yaml'), 'sites:\n  - hosts: [b.example]\n    routes: [{ respond: { body: b } }]\n');
    writeFileSync(join(dir, 'conf.d', 'a.yaml'), '# first by name\nsites:\n  - hosts: [a.example]\n    routes: [{ respond: { body: a } }]\n');
    writeFileSync(join(dir, 'conf.d', 'notes.txt'), 'not yaml: [');
    writeFileSync(join(dir, 'extra', 'one.yaml'), 'sites: []\n');
    // the process cwd is the repo root: a glob taken relative to it would find nothing
    assert.notEqual(process.cwd(), dir);

    const loaded = loadConfigFile(file);
    assert.deepEqual(loaded.config.sites.map((s) => s.hosts[0]), ['main.example', 'a.example', 'b.example']);
    assert.deepEqual(loaded.config.sites.map((s) => s.routes[0]!.respond!.body), ['main', 'a', 'b']);
    assert.deepEqual(loaded.files, [file, join(dir, 'conf.d', 'a.yaml'), join(dir, 'conf.d', 'b.yaml'), join(dir, 'extra', 'one.yaml')]);
    // places and key paths point into the file a site came from
    assert.equal(loaded.locate(['sites', 0, 'hosts', 0]), `${file}:4:13`);
    assert.equal(loaded.locate(['sites', 1, 'hosts', 0]), `${join(dir, 'conf.d', 'a.yaml')}:3:13`);
    assert.equal(loaded.locate(['sites', 2, 'routes', 0]), `${join(dir, 'conf.d', 'b.yaml')}:3:14`);
    assert.equal(loaded.pathIn(['sites', 2, 'routes', 0]), 'sites[0].routes[0]');
    assert.equal(loaded.pathIn(['sites', 0, 'hosts', 0]), 'sites[0].hosts[0]');
    assert.equal(loaded.pathIn(['http_port']), 'http_port');
  });

  it('throws a ConfigError naming the file when it does not exist', () => {
    assert.throws(() => loadConfigFile('/nonexistent/edge.yaml'), (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.deepEqual(err.problems, [{ where: '/nonexistent/edge.yaml', message: 'no such config file', severity: 'error' }]);
      return true;
    });
  });
});

describe('configFromFlags', () => {
  it('builds the same config as the equivalent file', () => {
    const fromFlags = configFromFlags({
      domain: ['a.example', 'www.a.example'],
      to: ['127.0.0.1:3000', 'unix:/run/app.sock'],
      'http-port': '8080',
      bind: ['127.0.0.1'],
      'access-log': 'off',
      'log-format': 'json',
    });
    const { file } = writeConfig(`
http_port: 8080
bind: 127.0.0.1
log: { access: "off", format: json }
sites:
  - hosts: [a.example, www.a.example]
    routes:
      - match: /
        proxy: { to: [127.0.0.1:3000, unix:/run/app.sock] }
`);
    assert.deepEqual(fromFlags.config, loadConfigFile(file).config);
    assert.deepEqual(fromFlags.files, []);
  });

  it('proxies to the default upstream without --to, with defaults like a file', () => {
    const fromFlags = configFromFlags({ domain: ['a.example'] });
    const { file } = writeConfig(`sites: [{ hosts: [a.example], routes: [{ proxy: { to: "${DEFAULT_UPSTREAM}" } }] }]`);
    assert.deepEqual(fromFlags.config, loadConfigFile(file).config);
  });

  it('--static alone serves files only', () => {
    const fromFlags = configFromFlags({ domain: ['a.example'], static: 'public' });
    const { file } = writeConfig('sites: [{ hosts: [a.example], routes: [{ static: { root: public } }] }]');
    assert.deepEqual(fromFlags.config, loadConfigFile(file).config);
  });

  it('--static with --to: files first, then the app', () => {
    const fromFlags = configFromFlags({ domain: ['a.example'], static: 'public', to: ['127.0.0.1:3000'] });
    const { file } = writeConfig('sites: [{ hosts: [a.example], routes: [{ static: { root: public, try_files: [$uri, $uri/, "@proxy"] }, proxy: { to: 127.0.0.1:3000 } }] }]');
    assert.deepEqual(fromFlags.config, loadConfigFile(file).config);
  });

  it('names the flag at fault, without a config key path', () => {
    assert.throws(() => configFromFlags({ domain: ['a.example'], to: ['127.0.0.1:3000', 'nowhere'] }), (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.deepEqual(err.problems, [{
        where: '--to',
        message: 'expected host:port, http://host:port, https://host:port or unix:/path, got "nowhere"',
        severity: 'error',
      }]);
      return true;
    });
  });

  it('reports a duplicate --domain', () => {
    assert.throws(() => configFromFlags({ domain: ['a.example', 'A.example.'] }), /--domain: host "a.example" is already served by the site at --domain/);
  });
});

describe('nearest', () => {
  const top = ['http_port', 'bind', 'grace_period', 'limits', 'log', 'include', 'sites'];
  const proxy = ['to', 'timeouts', 'websocket'];
  const cases: [string, readonly string[], string | undefined][] = [
    ['htp_port', top, 'http_port'],
    ['http-port', top, 'http_port'],
    ['HTTP_PORT', top, 'http_port'],
    ['sties', top, 'sites'],
    ['site', top, 'sites'],
    ['limit', top, 'limits'],
    ['includes', top, 'include'],
    ['grace', top, undefined],
    ['lgo', top, 'log'],
    ['tiemouts', proxy, 'timeouts'],
    ['timeout', proxy, 'timeouts'],
    ['web_socket', proxy, 'websocket'],
    ['ot', proxy, 'to'],
    // too far from every key to be a typo: no suggestion rather than a wrong one
    ['tls', proxy, undefined],
    ['pid', top, undefined],
    ['port', top, undefined],
    ['zzzzzzzz', proxy, undefined],
    ['anything', [], undefined],
  ];
  for (const [word, candidates, expected] of cases) {
    it(`${word} → ${expected ?? 'no suggestion'}`, () => assert.equal(nearest(word, candidates), expected));
  }
});
