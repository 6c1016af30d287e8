// `edge check` as a real process: the exact FILE:line:col line for each kind of bad config, warnings, ports, flags.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { freePort, runEdge } from '../helpers/edge.ts';
import { writeConfig } from '../helpers/config.ts';

const ROUTE = `sites:
  - hosts: [a.example]
    routes:
`;

interface BadConfig {
  name: string;
  yaml: string;
  /** More files next to the config, by relative path. */
  extra?: Record<string, string>;
  /** Every stderr line; FILE is the config as edge shows it (absolute: temp files are outside the cwd), DIR its folder. */
  expected: string[];
}

const BAD: BadConfig[] = [
  {
    name: 'unknown top-level key, with a suggestion',
    yaml: 'htp_port: 8080\nsites: []\n',
    expected: ['FILE:1:1: unknown key "htp_port", did you mean "http_port"?'],
  },
  {
    name: 'unknown nested key, with a suggestion',
    yaml: `${ROUTE}      - proxy:\n          to: 127.0.0.1:3000\n          tiemouts: { read: 5s }\n`,
    expected: ['FILE:6:11: sites[0].routes[0].proxy: unknown key "tiemouts", did you mean "timeouts"?'],
  },
  {
    name: 'unknown key with no near match lists the known keys',
    yaml: `${ROUTE}      - proxy:\n          to: 127.0.0.1:3000\n          certificates: true\n`,
    expected: ['FILE:6:11: sites[0].routes[0].proxy: unknown key "certificates", known keys: to, upstream, balance, max_fails, fail_timeout, fail_status, health, slow_start, retries, try_duration, tls, timeouts, websocket, buffering'],
  },
  {
    name: 'an https upstream\'s CA file that cannot be read, or holds no certificate',
    yaml: `${ROUTE}      - proxy:\n          to: https://127.0.0.1:3000\n          tls: { ca: /nonexistent/ca.pem }\n      - proxy:\n          to: https://127.0.0.1:3000\n          tls: { ca: /dev/null }\n`,
    expected: [
      'FILE:6:22: sites[0].routes[0].proxy.tls.ca: cannot read /nonexistent/ca.pem (ENOENT)',
      'FILE:9:22: sites[0].routes[1].proxy.tls.ca: /dev/null holds no PEM certificate (-----BEGIN CERTIFICATE-----)',
    ],
  },
  {
    name: 'rewrite with a bad regex, and one whose to uses a group from does not have',
    yaml: `${ROUTE}      - match: /a/\n        rewrite: { from: "^/a/(.*", to: /b/$1 }\n        respond: {}\n      - match: /c/\n        rewrite: { from: "^/c/(.*)$", to: /d/$2 }\n        respond: {}\n`,
    expected: [
      "FILE:5:26: sites[0].routes[0].rewrite.from: bad regex: Invalid regular expression: /^/a/(.*/: Unterminated group",
      'FILE:8:43: sites[0].routes[1].rewrite.to: rewrite.to uses $2, and from has only 1 group(s)',
    ],
  },
  {
    name: 'strip_prefix that is not a path, or that the route can never see, and a rewrite.to with a query',
    yaml: `${ROUTE}      - { match: /a/, strip_prefix: api, respond: {} }\n      - { match: /api/, strip_prefix: /v2, respond: {} }\n      - { match: /x/, rewrite: { from: x, to: "/y?z=1" }, respond: {} }\n`,
    expected: [
      'FILE:4:37: sites[0].routes[0].strip_prefix: strip_prefix starts with "/", e.g. /api',
      'FILE:5:39: sites[0].routes[1].strip_prefix: strip_prefix /v2 never applies to the paths match /api/ takes',
      'FILE:6:47: sites[0].routes[2].rewrite.to: rewrite.to is a path: the query string is kept as the client sent it, so no "?" or "#"',
    ],
  },
  {
    name: 'tls settings for a pool without an https upstream, and a bad server_name',
    yaml: `upstreams:\n  app:\n    to: [127.0.0.1:3000]\n    tls: { verify: true }\n${ROUTE}      - proxy:\n          to: https://10.0.0.5:8443\n          tls: { server_name: "bad name" }\n      - proxy: { upstream: app }\n`,
    expected: [
      'FILE:4:10: upstreams.app.tls: tls applies to https:// upstreams, and to: has none (write https://host:port)',
      'FILE:10:31: sites[0].routes[0].proxy.tls.server_name: server_name must be a host name, e.g. app.internal',
    ],
  },
  {
    name: 'retry_body_limit, gone with request buffering, says so',
    yaml: `${ROUTE}      - proxy:\n          to: 127.0.0.1:3000\n          retry_body_limit: 1MiB\n`,
    expected: ['FILE:6:11: sites[0].routes[0].proxy: "retry_body_limit" is gone: with request buffering (the default) a body is resent on retry whatever its size, and with buffering: { request: false } bodies up to 64 KiB are held for a retry; delete the line'],
  },
  {
    name: 'wrong type',
    yaml: 'http_port: "eighty"\n',
    expected: ['FILE:1:12: http_port: expected a port number (1-65535), got "eighty"'],
  },
  {
    name: 'wrong type for a union of address or list',
    yaml: 'bind: 5\n',
    expected: ['FILE:1:7: bind: expected an address or a list of addresses'],
  },
  {
    name: 'port out of range',
    yaml: 'http_port: 70000\n',
    expected: ['FILE:1:12: http_port: port must be 1-65535'],
  },
  {
    name: 'bad size',
    yaml: 'limits:\n  max_body_size: 5 megs\n',
    expected: ['FILE:2:18: limits.max_body_size: bad size "5 megs" (use e.g. 512KiB, 10MB, 1GiB)'],
  },
  {
    name: 'bad duration: a bare number',
    yaml: `${ROUTE}      - proxy:\n          to: 127.0.0.1:3000\n          timeouts:\n            read: 5\n`,
    expected: ['FILE:7:19: sites[0].routes[0].proxy.timeouts.read: bad duration 5 (a bare number is ambiguous: write 5s)'],
  },
  {
    name: 'bad duration string',
    yaml: 'grace_period: 5 minutes\n',
    expected: ['FILE:1:15: grace_period: bad duration "5 minutes" (use e.g. 500ms, 5s, 2m, 1h, or off)'],
  },
  {
    name: 'duplicate host across two sites, case and trailing dot ignored',
    yaml: `sites:
  - hosts: [a.example, b.example]
    routes: [{ respond: {} }]
  - hosts:
      - c.example
      - B.Example.
    routes: [{ respond: {} }]
`,
    expected: ['FILE:6:9: sites[1].hosts[1]: host "b.example" is already served by the site at FILE:2:24'],
  },
  {
    name: 'duplicate host in an included file',
    yaml: 'include: conf.d/*.yaml\nsites:\n  - hosts: [a.example]\n    routes: [{ respond: {} }]\n',
    extra: { 'conf.d/app.yaml': '# the app\nsites:\n  - hosts:\n      - app.example\n      - a.example\n    routes: [{ respond: {} }]\n' },
    expected: ['DIR/conf.d/app.yaml:5:9: sites[0].hosts[1]: host "a.example" is already served by the site at FILE:3:13'],
  },
  {
    name: 'route with two actions',
    yaml: `${ROUTE}      - match: /x/\n        proxy: { to: 127.0.0.1:3000 }\n        redirect: { to: "https://b.example{uri}" }\n`,
    expected: ['FILE:4:9: sites[0].routes[0]: a route has one action, this one has proxy and redirect: split it into two routes'],
  },
  {
    name: 'route with no action',
    yaml: `${ROUTE}      - match: /x/\n`,
    expected: ['FILE:4:9: sites[0].routes[0]: a route needs an action: proxy, redirect, respond, static'],
  },
  {
    name: 'route with static and redirect',
    yaml: `${ROUTE}      - static: { root: /srv/www }\n        redirect: { to: "https://b.example{uri}" }\n`,
    expected: ['FILE:4:9: sites[0].routes[0]: a route has one action, this one has redirect and static: split it into two routes'],
  },
  {
    name: 'static and proxy without a fallback that uses the proxy',
    yaml: `${ROUTE}      - static: { root: /srv/www }\n        proxy: { to: 127.0.0.1:3000 }\n`,
    expected: ['FILE:4:9: sites[0].routes[0]: a route has one action, this one has proxy and static: end static.try_files with "@proxy" to serve files first and then the app, or split it into two routes'],
  },
  {
    name: '@proxy fallback without a proxy',
    yaml: `${ROUTE}      - static:\n          root: /srv/www\n          try_files: [$uri, "@proxy"]\n`,
    expected: ['FILE:6:29: sites[0].routes[0].static.try_files[1]: "@proxy" falls back to this route\'s proxy, and it has none: add proxy: { to: ... } next to static'],
  },
  {
    name: '@proxy not last in try_files',
    yaml: `${ROUTE}      - static:\n          root: /srv/www\n          try_files: ["@proxy", $uri]\n        proxy: { to: 127.0.0.1:3000 }\n`,
    expected: ['FILE:6:23: sites[0].routes[0].static.try_files[0]: "@proxy" ends the search, so it must be the last entry of try_files'],
  },
  {
    name: 'a try_files entry that is neither $uri, a path, =CODE nor @proxy',
    yaml: `${ROUTE}      - static: { root: /srv/www, try_files: [$uri, index.html] }\n`,
    expected: ['FILE:4:53: sites[0].routes[0].static.try_files[1]: try_files entries are $uri, $uri/, $uri.html-like forms, a path starting with "/" (may contain $uri), and last "=CODE" or "@proxy", got "index.html"'],
  },
  {
    name: 'a try_files status that is not an error',
    yaml: `${ROUTE}      - static: { root: /srv/www, try_files: [$uri, "=200"] }\n`,
    expected: ['FILE:4:53: sites[0].routes[0].static.try_files[1]: try_files "=200": the status must be 400-599'],
  },
  {
    name: 'static without root',
    yaml: `${ROUTE}      - static: { index: index.html }\n`,
    expected: ['FILE:4:17: sites[0].routes[0].static: missing required key "root"'],
  },
  {
    name: 'unknown static key, with a suggestion',
    yaml: `${ROUTE}      - static: { root: /srv/www, try_file: [$uri] }\n`,
    expected: ['FILE:4:35: sites[0].routes[0].static: unknown key "try_file", did you mean "try_files"?'],
  },
  {
    name: 'unknown compress encoding',
    yaml: `${ROUTE}      - respond: {}\n        compress: [gzip, deflate]\n`,
    expected: ['FILE:5:26: sites[0].routes[0].compress[1]: unknown encoding "deflate": edge compresses with zstd, br, gzip'],
  },
  {
    name: 'compress listing an encoding twice',
    yaml: `${ROUTE}      - respond: {}\n        compress: [br, gzip, br]\n`,
    expected: ['FILE:5:30: sites[0].routes[0].compress[2]: br is listed twice'],
  },
  {
    name: 'compress of the wrong type',
    yaml: `${ROUTE}      - respond: {}\n        compress: yes please\n`,
    expected: ['FILE:5:19: sites[0].routes[0].compress: compress is true, false, or a list of encodings from zstd, br, gzip'],
  },
  {
    name: 'bad regex in match',
    yaml: `${ROUTE}      - match: "~^/(a"\n        respond: {}\n`,
    expected: ['FILE:4:16: sites[0].routes[0].match: bad regex: Invalid regular expression: /^/(a/: Unterminated group'],
  },
  {
    name: 'match not starting with /',
    yaml: `${ROUTE}      - match: api/\n        respond: {}\n`,
    expected: ['FILE:4:16: sites[0].routes[0].match: a path pattern starts with "/" ("=/" for exact, "~" for a regex), got "api/"'],
  },
  {
    name: 'bad upstream address',
    yaml: `${ROUTE}      - proxy: { to: localhost }\n`,
    expected: ['FILE:4:22: sites[0].routes[0].proxy.to: expected host:port, http://host:port, https://host:port or unix:/path, got "localhost"'],
  },
  {
    name: 'bad upstream in a list',
    yaml: `${ROUTE}      - proxy:\n          to:\n            - 127.0.0.1:3000\n            - 127.0.0.1:99999\n`,
    expected: ['FILE:7:15: sites[0].routes[0].proxy.to[1]: port out of range in "127.0.0.1:99999"'],
  },
  {
    name: 'proxy without to',
    yaml: `${ROUTE}      - proxy: { websocket: false }\n`,
    expected: ['FILE:4:16: sites[0].routes[0].proxy: missing required key "to" (the upstream addresses), or "upstream" naming a pool under upstreams:'],
  },
  {
    name: 'YAML syntax error: a mis-indented key',
    yaml: `${ROUTE}      - proxy: { to: 127.0.0.1:3000 }\n      match: /\n`,
    expected: ['FILE:5:7: YAML: All mapping items must start at the same column'],
  },
  {
    name: 'duplicate YAML key',
    yaml: 'http_port: 8080\nbind: 127.0.0.1\nhttp_port: 8081\n',
    expected: ['FILE:3:1: YAML: Map keys must be unique'],
  },
  {
    name: 'missing required key: a site without hosts',
    yaml: 'sites:\n  - routes:\n      - respond: { body: hi }\n',
    expected: ['FILE:2:5: sites[0]: missing required key "hosts"'],
  },
  {
    name: 'wildcard in the wrong place',
    yaml: 'sites:\n  - hosts: [a.*.example]\n    routes: [{ respond: {} }]\n',
    expected: ['FILE:2:13: sites[0].hosts[0]: a wildcard must be the whole first label, like *.example.com; got "a.*.example"'],
  },
  {
    name: 'host with a port',
    yaml: 'sites:\n  - hosts: [ok.example, "a.example:8080"]\n    routes: [{ respond: {} }]\n',
    expected: ['FILE:2:25: sites[0].hosts[1]: hosts are names without a port, got "a.example:8080" (ports are set by http_port)'],
  },
  {
    name: 'empty routes list',
    yaml: 'sites:\n  - hosts: [a.example]\n    routes: []\n',
    expected: ['FILE:3:13: sites[0].routes: a site needs at least one route'],
  },
  {
    name: 'include of a missing file',
    yaml: 'include:\n  - conf.d/*.yaml\n  - conf.d/missing.yaml\n',
    expected: ['FILE:3:5: include: no such file "conf.d/missing.yaml"'],
  },
  {
    name: 'wildcard needing DNS-01 for a public certificate',
    yaml: 'sites:\n  - hosts: ["*.example.com"]\n    routes: [{ respond: {} }]\n',
    expected: ['FILE:2:13: sites[0].hosts[0]: *.example.com needs a DNS-01 challenge for a certificate: configure acme.dns (provider rfc2136 or exec), or use tls: internal or tls: { cert, key }'],
  },
  {
    name: 'a site asking for dns-01 without acme.dns',
    yaml: 'sites:\n  - hosts: [a.example.com]\n    challenges: [dns-01]\n    routes: [{ respond: {} }]\n',
    expected: ['FILE:2:13: sites[0].hosts[0]: a.example.com is to be validated by dns-01, which needs acme.dns (provider rfc2136 or exec)'],
  },
  {
    name: 'unknown DNS provider',
    yaml: 'acme:\n  dns: { provider: route53 }\n',
    expected: ['FILE:2:20: acme.dns.provider: the DNS provider must be rfc2136 or exec'],
  },
  {
    name: 'rfc2136 with a TSIG secret that is not base64, and an unknown algorithm',
    yaml: 'acme:\n  dns:\n    provider: rfc2136\n    server: 127.0.0.1:5353\n    zone: example.com\n    key_name: edge\n    key_algorithm: hmac-md5\n    key_secret: "not base64!"\n',
    expected: [
      'FILE:7:20: acme.dns.key_algorithm: key_algorithm must be hmac-sha256, hmac-sha384, hmac-sha512, hmac-sha224 or hmac-sha1',
      'FILE:8:17: acme.dns.key_secret: key_secret must be the base64 of the TSIG key (at least 16 bytes), as in the server\'s key file',
    ],
  },
  {
    name: 'on-demand TLS without an ask endpoint',
    yaml: 'sites:\n  - hosts: ["*"]\n    tls: on_demand\n    routes: [{ respond: {} }]\n',
    expected: ['FILE:3:10: sites[0].tls: tls: on_demand needs acme.on_demand.ask, the endpoint that approves each name before a certificate is ordered'],
  },
  {
    name: 'bad tls mode',
    yaml: 'sites:\n  - hosts: [a.example]\n    tls: yes\n    routes: [{ respond: {} }]\n',
    expected: ['FILE:3:10: sites[0].tls: tls must be auto, internal, off, on_demand, or { cert, key } naming certificate files'],
  },
  {
    name: 'several problems, in file order',
    yaml: 'sites:\n  - hosts: ["*"]\n    routes: [{ match: x, respond: { status: 700 } }]\nhttp_port: 0\n',
    expected: [
      'FILE:2:13: sites[0].hosts[0]: "*" would serve every host, which only makes sense with tls: on_demand (an ask endpoint vets each name); otherwise list the names',
      'FILE:3:23: sites[0].routes[0].match: a path pattern starts with "/" ("=/" for exact, "~" for a regex), got "x"',
      'FILE:3:45: sites[0].routes[0].respond.status: status must be 200-599',
      'FILE:4:12: http_port: port must be 1-65535',
    ],
  },
];

describe('edge check: bad configs', () => {
  for (const bad of BAD) {
    it(`${bad.name}: exit 1 with the exact place and message`, async () => {
      const { dir, file } = writeConfig(bad.yaml);
      for (const [name, text] of Object.entries(bad.extra ?? {})) {
        mkdirSync(dirname(join(dir, name)), { recursive: true });
        writeFileSync(join(dir, name), text);
      }
      const r = await runEdge(['check', '-c', file]);
      const expected = bad.expected.map((line) => line.replaceAll('FILE', file).replaceAll('DIR', dir));
      assert.deepEqual(r.stderr.split('\n'), [...expected, '']);
      assert.equal(r.stdout, '');
      assert.equal(r.code, 1);
    });
  }
});

describe('edge check: good configs and this machine', () => {
  it('prints "FILE: ok" and exits 0 for a good config', async () => {
    const port = await freePort();
    const { file } = writeConfig(`http_port: ${port}\nbind: 127.0.0.1\n${ROUTE}      - proxy: { to: 127.0.0.1:3000 }\nhttps_port: ${await freePort()}\n`);
    const r = await runEdge(['check', '-c', file]);
    assert.deepEqual(r, { code: 0, stdout: `${file}: ok\n`, stderr: '' });
  });

  it('warns about https upstreams with tls.verify: false, yet passes', async () => {
    const port = await freePort();
    const { file } = writeConfig(`http_port: ${port}\nbind: 127.0.0.1\nhttps_port: ${await freePort()}\n${ROUTE}      - proxy: { to: "https://10.0.0.5:8443", tls: { verify: false } }\n`);
    const r = await runEdge(['check', '-c', file]);
    assert.deepEqual(r, {
      code: 0,
      stdout: `${file}: ok\n`,
      stderr: `${file}:7:62: warning: sites[0].routes[0].proxy.tls.verify: tls.verify is false: any certificate is accepted from these https:// upstreams, so anyone on the path can read and change the traffic; set tls.ca to the CA that signs them instead\n`,
    });
  });

  it('warns that a config without sites answers every request with 404, yet passes', async () => {
    const port = await freePort();
    const { file } = writeConfig(`http_port: ${port}\nbind: 127.0.0.1\n`);
    const r = await runEdge(['check', '-c', file]);
    assert.deepEqual(r, { code: 0, stdout: `${file}: ok\n`, stderr: `${file}:1:1: warning: no sites: every request will get 404\n` });
  });

  it('shows the file relative to the cwd when it is inside it', async () => {
    const { dir } = writeConfig('htp_port: 8080\n', 'edge.yaml');
    const r = await runEdge(['check', '-c', 'edge.yaml'], { cwd: dir });
    assert.deepEqual(r, { code: 1, stdout: '', stderr: 'edge.yaml:1:1: unknown key "htp_port", did you mean "http_port"?\n' });
  });

  it('warns about unix: upstreams that do not exist, in the file they are in, yet passes', async () => {
    const port = await freePort();
    const { dir, file } = writeConfig(`http_port: ${port}
bind: 127.0.0.1
include: conf.d/*.yaml
${ROUTE}      - proxy:
          to: unix:/nonexistent/app.sock
https_port: ${await freePort()}
`);
    mkdirSync(join(dir, 'conf.d'));
    writeFileSync(join(dir, 'conf.d', 'b.yaml'), 'sites:\n  - hosts: [b.example]\n    routes:\n      - proxy: { to: [127.0.0.1:3000, unix:/nonexistent/b.sock] }\n');
    const r = await runEdge(['check', '-c', file]);
    assert.deepEqual(r.stderr.split('\n'), [
      `${file}:8:15: warning: sites[0].routes[0].proxy.to: upstream unix:/nonexistent/app.sock does not exist (is the app running?)`,
      `${dir}/conf.d/b.yaml:4:39: warning: sites[0].routes[0].proxy.to[1]: upstream unix:/nonexistent/b.sock does not exist (is the app running?)`,
      '',
    ]);
    assert.equal(r.stdout, `${file}: ok\n`);
    assert.equal(r.code, 0);
  });

  it('warns about a static root that does not exist, and fails on one that is a file', async () => {
    const port = await freePort();
    const { dir, file } = writeConfig(`http_port: ${port}
bind: 127.0.0.1
${ROUTE}      - match: /a/
        static: { root: /nonexistent/www }
      - static:
          root: ./edge.yaml
https_port: ${await freePort()}
`);
    const r = await runEdge(['check', '-c', file], { cwd: dir });
    assert.deepEqual(r.stderr.split('\n'), [
      'edge.yaml:7:25: warning: sites[0].routes[0].static.root: static root /nonexistent/www does not exist (every request to it gets 404 until it does)',
      'edge.yaml:9:17: sites[0].routes[1].static.root: static root ./edge.yaml is not a folder',
      '',
    ]);
    assert.equal(r.stdout, '');
    assert.equal(r.code, 1);
  });

  it('fails when http_port is already bound', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const { port } = taken.address() as { port: number };
    try {
      const { file } = writeConfig(`bind: 127.0.0.1\nhttp_port: ${port}\n${ROUTE}      - respond: {}\nhttps_port: ${await freePort()}\n`);
      const r = await runEdge(['check', '-c', file]);
      assert.deepEqual(r, { code: 1, stdout: '', stderr: `${file}:2:12: http_port: 127.0.0.1 port ${port} is already in use\n` });
    } finally {
      await new Promise((resolve) => taken.close(resolve));
    }
  });

  it('names a config file that does not exist', async () => {
    const r = await runEdge(['check', '-c', '/nonexistent/edge.yaml']);
    assert.deepEqual(r, { code: 1, stdout: '', stderr: '/nonexistent/edge.yaml: no such config file\n' });
  });
});

describe('edge check: the one-liner and the command line', () => {
  it('checks a good one-liner', async () => {
    const port = await freePort();
    const r = await runEdge(['check', '--domain', 'x.example', '--to', '127.0.0.1:3000', '--http-port', String(port), '--https-port', String(await freePort()), '--bind', '127.0.0.1']);
    assert.deepEqual(r, { code: 0, stdout: 'command line: ok\n', stderr: '' });
  });

  it('names the flag of a bad --to', async () => {
    const r = await runEdge(['check', '--domain', 'x.example', '--to', 'bad']);
    assert.deepEqual(r, { code: 1, stdout: '', stderr: '--to: expected host:port, http://host:port, https://host:port or unix:/path, got "bad"\n' });
  });

  it('names the flag of a bad --static', async () => {
    const r = await runEdge(['check', '--domain', 'x.example', '--static', '']);
    assert.deepEqual(r, { code: 1, stdout: '', stderr: '--static: root must name a folder\n' });
  });

  it('names the flag of a bad --http-port', async () => {
    const r = await runEdge(['check', '--domain', 'x.example', '--http-port', 'eighty']);
    assert.deepEqual(r, { code: 1, stdout: '', stderr: '--http-port: expected a port number (1-65535), got "eighty"\n' });
  });

  it('requires --domain', async () => {
    const r = await runEdge(['check', '--to', '127.0.0.1:3000']);
    assert.deepEqual(r, { code: 1, stdout: '', stderr: 'edge: --domain is required: the name this site answers to, e.g. --domain example.com\n' });
  });

  it('rejects an unknown command', async () => {
    const r = await runEdge(['frobnicate']);
    assert.deepEqual(r, { code: 1, stdout: '', stderr: 'edge: unknown command "frobnicate"\nRun "edge --help" for usage.\n' });
  });

  it('prints the version from package.json', async () => {
    const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    const r = await runEdge(['version']);
    assert.deepEqual(r, { code: 0, stdout: `edge ${version}\n`, stderr: '' });
  });
});
