// `edge import nginx` on real configs: Debian's own nginx.conf and default site, the classic
// Gunicorn block, and a server full of locations whose answers a real nginx and the imported
// edge must agree on, path by path (nginx's location order against edge's first match).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, runEdge, startEdge } from '../helpers/edge.ts';
import { fetchRaw } from '../helpers/http.ts';
import { NGINX, nginxPreamble, startNginx } from '../helpers/nginx.ts';

const DEBIAN = '/etc/nginx/nginx.conf';
const noDebian = existsSync(DEBIAN) && existsSync('/etc/nginx/sites-available/default')
  ? false : 'Debian\'s nginx config is not installed (apt-get install -y nginx; .ci/run does)';

/** Imports `source`, writes the result to DIR/edge.yaml and checks it with edge check. */
async function importAndCheck(source: string, dir: string, extra: string[] = []) {
  const out = join(dir, 'edge.yaml');
  const imported = await runEdge(['import', 'nginx', source, '-o', out, ...extra], { cwd: dir });
  assert.equal(imported.code, 0, imported.stderr);
  const yaml = readFileSync(out, 'utf8');
  const check = await runEdge(['check', '-c', out], { cwd: dir });
  assert.equal(check.code, 0, `edge check refused the import:\n${check.stderr}\n${yaml}`);
  return { yaml, stderr: imported.stderr, out };
}

/** Every note on stderr is a comment in the output too. */
function assertNotesInOutput(stderr: string, yaml: string): void {
  const notes = stderr.split('\n').filter((l) => l !== '' && !l.startsWith('wrote '));
  for (const line of notes) assert.ok(yaml.includes(`# ${line}`), `stderr line missing from the output: ${line}`);
}

test('Debian\'s nginx.conf and default site import to a config edge check accepts', { skip: noDebian }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'edge-import-'));
  cpSync('/etc/nginx', join(dir, 'nginx'), { recursive: true, dereference: true });
  const port = await freePort();
  const { yaml, stderr } = await importAndCheck(join(dir, 'nginx'), dir, ['--http-port', String(port)]);
  assert.match(yaml, /root: \/var\/www\/html/);
  assert.match(yaml, /index: \[index\.html, index\.htm, index\.nginx-debian\.html\]/);
  assert.match(yaml, /try_files: \[\$uri, \$uri\/, =404\]/);
  assert.match(yaml, /tls: off/);
  assert.match(yaml, /compress: true/);
  assert.match(stderr, /sites-enabled\/default:\d+: server: answers any host name/);
  assert.match(stderr, /nginx\.conf:\d+: ssl_protocols .*: edge offers TLS 1\.2 and 1\.3 only, dropped/);
  assert.match(stderr, /mime\.types:\d+: types: edge knows the common file types, dropped/);
  assertNotesInOutput(stderr, yaml);
});

test('the classic Gunicorn block: port, names, a Unix-socket proxy, proxy_params notes', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'edge-import-'));
  writeFileSync(join(dir, 'nginx.conf'), 'events {}\nhttp { include sites-enabled/*; }\n');
  writeFileSync(join(dir, 'proxy_params'), 'proxy_set_header Host $http_host;\nproxy_set_header X-Real-IP $remote_addr;\nproxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;\nproxy_set_header X-Forwarded-Proto $scheme;\n');
  mkdirSync(join(dir, 'sites-enabled'));
  writeFileSync(join(dir, 'sites-enabled', 'app'), [
    'server {',
    '    listen 6060;',
    '    server_name app.example.com www.app.example.com;',
    '    access_log /var/log/nginx/app.log;',
    '    location / {',
    '        include proxy_params;',
    '        proxy_pass http://unix:/run/app/gunicorn.sock;',
    '        proxy_buffering off;',
    '    }',
    '}',
  ].join('\n'));
  const port = await freePort();
  const { yaml, stderr } = await importAndCheck(join(dir, 'nginx.conf'), dir, ['--http-port', String(port)]);
  assert.match(yaml, /hosts: \[app\.example\.com, www\.app\.example\.com\]/);
  assert.match(yaml, /to: unix:\/run\/app\/gunicorn\.sock/);
  assert.match(yaml, new RegExp(`http_port: ${port}   # nginx: 6060`));
  assert.match(stderr, /sites-enabled\/app:8: proxy_buffering off: edge buffers responses by default \(memory, then a temp file\); for off, set proxy: \{ buffering: \{ response: false \} \} on the route, dropped/);
  assert.match(stderr, /sites-enabled\/app:4: access_log \/var\/log\/nginx\/app\.log: edge has one access log/);
  assert.match(stderr, /proxy_params:1: proxy_set_header Host \$http_host: edge passes the client's Host already, dropped/);
  assertNotesInOutput(stderr, yaml);
});

const LOCATIONS: [string, string][] = [
  ['= /exact', 'exact'],
  ['/', 'root'],
  ['/static/', 'static'],
  ['^~ /static/stop/', 'stop'],
  ['/static/stop/deeper/', 'deeper'],
  ['~ \\.png$', 'png'],
  ['~* \\.JPG$', 'jpg'],
  ['~ ^/static/.*\\.css$', 'css-regex'],
  ['^~ /assets/', 'assets-stop'],
  ['/assets/img/', 'assets-img'],
  ['/exact', 'exact-prefix'],
  ['^~ /a', 'a-stop'],
];

const PATHS = ['/exact', '/exact/x', '/exactly', '/', '/x.png', '/static/a.css', '/static/a.txt', '/static/stop/a.png',
  '/static/stop/deeper/a.png', '/static/stop/deeper/a.txt', '/a.jpg', '/A.JPG', '/pic.Jpg', '/assets/a.png', '/assets/img/a.png',
  '/assets/img/a.txt', '/static/x.PNG', '/about', '/a', '/static/stop/', '/static/stopped.png'];

test('location order: for every path the imported edge picks the route nginx picks', { skip: NGINX ? false : 'nginx is not installed' }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'edge-import-order-'));
  const [nginxPort, edgePort] = [await freePort(), await freePort()];
  const pre = nginxPreamble(dir);
  const server = LOCATIONS.map(([where, name]) => `    location ${where} { return 200 "${name}\\n"; }`).join('\n');
  const conf = join(dir, 'nginx.conf');
  writeFileSync(conf, `${pre.main}http {\n${pre.http}  server {\n    listen 127.0.0.1:${nginxPort};\n    server_name order.test;\n${server}\n  }\n}\n`);
  const nginx = await startNginx(conf, undefined, nginxPort);
  t.after(() => nginx.stop());
  const { out } = await importAndCheck(conf, dir, ['--http-port', String(edgePort)]);
  writeFileSync(out, `${readFileSync(out, 'utf8')}admin: off\n`);
  const edge = await startEdge(['run', '-c', out], { cwd: dir, port: edgePort });
  t.after(() => edge.stop());
  for (const path of PATHS) {
    const [a, b] = await Promise.all([fetchRaw(nginxPort, path, { headers: { host: 'order.test' } }), fetchRaw(edgePort, path, { headers: { host: 'order.test' } })]);
    assert.equal(a.status, 200, `nginx ${path}`);
    assert.equal(b.text, a.text, `${path}: nginx chose ${a.text.trim()}, edge ${b.text.trim()}`);
  }
});

test('a wide config: pools, redirects, fallbacks, certificates and the directives edge lacks, each said', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'edge-import-wide-'));
  const { certPem, keyPem } = await localPair();
  writeFileSync(join(dir, 'site.crt'), certPem);
  writeFileSync(join(dir, 'site.key'), keyPem);
  writeFileSync(join(dir, 'nginx.conf'), `
events { worker_connections 768; }
http {
  client_max_body_size 50m;
  keepalive_timeout 65;
  upstream app {
    ip_hash;
    server 127.0.0.1:8001 weight=3 max_fails=2 fail_timeout=20s;
    server 127.0.0.1:8002 max_fails=2 fail_timeout=20s;
    server 127.0.0.1:8003 backup;
    server 127.0.0.1:8004 down;
  }
  server {
    listen 8443 ssl http2;
    server_name .shop.example.org;
    ssl_certificate ${dir}/site.crt;
    ssl_certificate_key ${dir}/site.key;
    add_header Strict-Transport-Security "max-age=63072000" always;
    rewrite ^/old-shop$ https://shop.example.org/ permanent;
    location / { try_files $uri @app; root /srv/shop/public; }
    location @app { proxy_pass http://app; proxy_connect_timeout 3s; proxy_read_timeout 2m; }
    location /api/ { proxy_pass http://127.0.0.1:9000/v1/; allow 10.0.0.0/8; deny all; }
    location = /health { return 200 "ok\\n"; }
    location /go { return 302 https://example.org$request_uri; }
    location ~ \\.php$ { fastcgi_pass unix:/run/php/php-fpm.sock; }
    location /gone { return 410; }
  }
}
`);
  const { yaml, stderr } = await importAndCheck(join(dir, 'nginx.conf'), dir, ['--https-port', String(await freePort()), '--http-port', String(await freePort())]);
  assert.match(yaml, /upstreams:\n  # nginx nginx\.conf:\d+: upstream app\n  # nginx\.conf:\d+: server 127\.0\.0\.1:8003 backup: edge counts max_fails and fail_timeout per pool: the first server's values apply to all\n  # nginx\.conf:\d+: server 127\.0\.0\.1:8004 down: marked down: left out of the pool\n  app:\n    to:\n      - address: 127\.0\.0\.1:8001\n        weight: 3\n      - 127\.0\.0\.1:8002\n      - address: 127\.0\.0\.1:8003\n        backup: true\n    balance: ip_hash\n    max_fails: 2\n    fail_timeout: 20s/);
  assert.match(yaml, /hosts: \[shop\.example\.org, "\*\.shop\.example\.org"\]/);
  assert.match(yaml, new RegExp(`tls:\\n      cert: ${dir.replaceAll('/', '\\/')}\\/site\\.crt\\n      key: `));
  assert.match(yaml, /limits:\n  max_body_size: 50MiB\n  keepalive_timeout: 65s/);
  // the server-level rewrite first, then =, then the regex, then prefixes longest first
  const matches = [...yaml.matchAll(/- match: (\S+)/g)].map((m) => m[1]);
  assert.deepEqual(matches, ['~^/old-shop$', '=/health', '~\\.php$', '/api/', '/gone', '/go', '/']);
  assert.match(yaml, /- match: ~\^\/old-shop\$\n        redirect:\n          to: https:\/\/shop\.example\.org\/\n          status: 301/);
  assert.match(yaml, /- match: \/go\n        redirect:\n          to: https:\/\/example\.org\{uri\}\n          status: 302/);
  assert.match(yaml, /- match: \/\n        proxy:\n          upstream: app\n          timeouts:\n            connect: 3s\n            read: 120s\n        static:\n          root: \/srv\/shop\/public\n          try_files: \[\$uri, "@proxy"\]/);
  assert.match(yaml, /- match: =\/health\n        respond:\n          status: 200\n          body: "ok\\n"/);
  assert.match(yaml, /- match: ~\\\.php\$\n        respond:\n          status: 501/);
  assert.match(yaml, /- match: \/gone\n        respond:\n          status: 410/);
  // proxy_pass with a URI replaces the location's prefix: strip_prefix, then the URI in front
  assert.match(yaml, /- match: \/api\/\n(        # .*\n)*        strip_prefix: \/api\n        rewrite:\n          from: \^\/\(\.\*\)\$\n          to: \/v1\/\$1\n/);
  assert.match(stderr, /nginx\.conf:\d+: allow 10\.0\.0\.0\/8: edge has no allow\/deny rules yet: the route is open to every client, dropped/);
  assert.match(stderr, /nginx\.conf:\d+: add_header Strict-Transport-Security max-age=63072000 always: edge has no response headers setting/);
  assert.match(stderr, /nginx\.conf:\d+: fastcgi_pass unix:\/run\/php\/php-fpm\.sock: no edge equivalent: the route answers 501/);
  assert.match(stderr, /nginx\.conf:\d+: server_name \.shop\.example\.org: .shop\.example\.org: as shop\.example\.org and \*\.shop\.example\.org/);
  assertNotesInOutput(stderr, yaml);
});

async function localPair(): Promise<{ certPem: string; keyPem: string }> {
  const { LocalCA } = await import('../../src/tls/local-ca.ts');
  const { FsStorage } = await import('../../src/tls/storage/fs.ts');
  const ca = await LocalCA.load(new FsStorage(mkdtempSync(join(tmpdir(), 'edge-import-ca-'))));
  const leaf = await ca.issue(['shop.example.org', '*.shop.example.org']);
  return { certPem: leaf.chainPem, keyPem: leaf.keyPem };
}

test('redirects and fixed answers: the imported edge answers the status, Location and body nginx does', { skip: NGINX ? false : 'nginx is not installed' }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'edge-import-redirect-'));
  const [nginxPort, edgePort] = [await freePort(), await freePort()];
  const pre = nginxPreamble(dir);
  const conf = join(dir, 'nginx.conf');
  writeFileSync(conf, `${pre.main}http {\n${pre.http}  server {
    listen 127.0.0.1:${nginxPort};
    server_name r.test;
    rewrite ^/old$ /new permanent;
    rewrite ^/moved/(.*)$ https://elsewhere.test/$1 permanent;
    location /everything/ { rewrite ^(.*)$ https://other.test$1 redirect; }
    location /go { return 301 https://$host$request_uri; }
    location = /teapot { return 418 "short and stout\\n"; }
    location / { return 200 "root\\n"; }
  }\n}\n`);
  const nginx = await startNginx(conf, undefined, nginxPort);
  t.after(() => nginx.stop());
  const { out, stderr } = await importAndCheck(conf, dir, ['--http-port', String(edgePort)]);
  // a capture outside the catch-all shape is said, not guessed
  assert.match(stderr, /nginx\.conf:\d+: rewrite \^\/moved\/\(\.\*\)\$ https:\/\/elsewhere\.test\/\$1 permanent: edge redirects cannot use regex captures/);
  writeFileSync(out, `${readFileSync(out, 'utf8')}admin: off\n`);
  const edge = await startEdge(['run', '-c', out], { cwd: dir, port: edgePort });
  t.after(() => edge.stop());
  for (const path of ['/old', '/everything/a/b?x=1', '/go', '/go/deeper?q=2', '/teapot', '/other']) {
    const [a, b] = await Promise.all([fetchRaw(nginxPort, path, { headers: { host: 'r.test' } }), fetchRaw(edgePort, path, { headers: { host: 'r.test' } })]);
    assert.equal(b.status, a.status, `${path}: status`);
    const location = (h: string | undefined) => h?.replace(`:${nginxPort}`, '').replace(/^http:\/\/r\.test/, '');
    assert.equal(location(b.headers.location), location(a.headers.location), `${path}: Location`);
    if (a.status < 300) assert.equal(b.text, a.text, `${path}: body`);
  }
});

test('a missing file, a syntax error and an unknown source are errors with the place, exit 1, nothing written', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'edge-import-bad-'));
  const missing = await runEdge(['import', 'nginx', join(dir, 'none.conf')], { cwd: dir });
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /none\.conf: no such file or folder/);
  writeFileSync(join(dir, 'nginx.conf'), 'events {}\nhttp {\n  server {\n    listen 80\n  }\n}\n');
  const broken = await runEdge(['import', 'nginx', join(dir, 'nginx.conf'), '-o', join(dir, 'out.yaml')], { cwd: dir });
  assert.equal(broken.code, 1);
  assert.match(broken.stderr, /nginx\.conf:5: unexpected "}" after "listen"/);
  assert.equal(existsSync(join(dir, 'out.yaml')), false);
  const other = await runEdge(['import', 'apache'], { cwd: dir });
  assert.equal(other.code, 1);
  assert.match(other.stderr, /cannot import "apache": edge imports nginx and certbot/);
  const noCertbot = await runEdge(['import', 'certbot', dir, '--storage', join(dir, 'certs')], { cwd: dir });
  assert.equal(noCertbot.code, 1);
  assert.match(noCertbot.stderr, /holds no renewal\/ folder/);
});
