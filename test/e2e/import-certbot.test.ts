// Moving a real certbot + nginx server to edge: Debian's certbot (`certbot --nginx`) obtains a
// certificate from a local Pebble for a site of a real nginx, and edits its config; then
// `edge import nginx -o` on that config (which moves certbot's certificate and account into
// edge's storage) and edge serves the very certificate certbot obtained, and renews it from
// Pebble with certbot's account.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, logMessages, runEdge, startEdge, waitFor } from '../helpers/edge.ts';
import { startPebble } from '../helpers/pebble.ts';
import { NGINX, nginxPreamble, startNginx } from '../helpers/nginx.ts';
import { httpsGet, servedSerial } from '../helpers/tls-client.ts';

const NAME = 'shop.edge-import.net';
const CERTBOT = ['/usr/bin/certbot'].find((p) => existsSync(p));
const skip = !NGINX ? 'nginx is not installed' : !CERTBOT ? 'certbot is not installed (apt-get install -y certbot python3-certbot-nginx; .ci/run does)' : false;

test('certbot --nginx, then edge import: edge serves certbot\'s certificate and renews it with certbot\'s account', { skip }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'edge-import-certbot-'));
  const [httpPort, httpsPort, adminPort] = [await freePort(), await freePort(), await freePort()];
  const pebble = await startPebble({ httpPort, tlsPort: httpsPort });
  t.after(() => pebble.stop());
  const app = createServer((_req, res) => res.end('app\n'));
  await new Promise<void>((r) => app.listen(0, '127.0.0.1', r));
  t.after(() => app.close());
  const appPort = (app.address() as { port: number }).port;

  // the user's nginx, as they had it before certbot
  const nginxDir = join(dir, 'nginx');
  mkdirSync(join(nginxDir, 'sites-enabled'), { recursive: true });
  const pre = nginxPreamble(nginxDir);
  writeFileSync(join(nginxDir, 'nginx.conf'), `${pre.main}http {\n${pre.http}include sites-enabled/*;\n}\n`);
  writeFileSync(join(nginxDir, 'sites-enabled', 'shop'), [
    'server {',
    `    listen ${httpPort};`,
    `    server_name ${NAME};`,
    '    location / {',
    `        proxy_pass http://127.0.0.1:${appPort};`,
    '        proxy_set_header Host $host;',
    '    }',
    '}',
    '',
  ].join('\n'));
  const nginx = await startNginx(join(nginxDir, 'nginx.conf'), undefined, httpPort);
  t.after(() => nginx.stop());

  const le = join(dir, 'letsencrypt');
  const certbot = spawnSync(CERTBOT!, [
    '--nginx', '--non-interactive', '--agree-tos', '--register-unsafely-without-email', '--redirect',
    '--server', pebble.directory, '--config-dir', le, '--work-dir', join(dir, 'work'), '--logs-dir', join(dir, 'logs'),
    '--nginx-server-root', nginxDir, '--nginx-ctl', NGINX!, '--http-01-port', String(httpPort), '--https-port', String(httpsPort),
    '-d', NAME,
  ], { encoding: 'utf8', env: { ...process.env, REQUESTS_CA_BUNDLE: pebble.listenerRootFile }, timeout: 120_000 });
  assert.equal(certbot.status, 0, `certbot failed:\n${certbot.stdout}\n${certbot.stderr}\n${pebble.output()}`);
  const edited = readFileSync(join(nginxDir, 'sites-enabled', 'shop'), 'utf8');
  assert.match(edited, /ssl_certificate .*\/live\/.*\/fullchain\.pem; # managed by Certbot/);
  const certbotCert = new X509Certificate(readFileSync(join(le, 'live', NAME, 'fullchain.pem')));
  await nginx.stop();

  // certbot redirects from port 80 only: with the site on 80, as on a real server, `certbot
  // enhance --redirect` writes its redirect block (nginx -t only: a wrapper skips the reload, so
  // nothing binds port 80)
  const site = join(nginxDir, 'sites-enabled', 'shop');
  writeFileSync(site, readFileSync(site, 'utf8').replace(`listen ${httpPort};`, 'listen 80;'));
  const ctl = join(dir, 'nginx-no-reload');
  writeFileSync(ctl, `#!/bin/sh\nfor a in "$@"; do [ "$a" = "-s" ] && exit 0; done\nexec ${NGINX} "$@"\n`, { mode: 0o755 });
  const enhance = spawnSync(CERTBOT!, [
    'enhance', '--redirect', '--cert-name', NAME, '--non-interactive', '--nginx',
    '--config-dir', le, '--work-dir', join(dir, 'work'), '--logs-dir', join(dir, 'logs'),
    '--nginx-server-root', nginxDir, '--nginx-ctl', ctl,
  ], { encoding: 'utf8', env: { ...process.env, REQUESTS_CA_BUNDLE: pebble.listenerRootFile }, timeout: 120_000 });
  assert.equal(enhance.status, 0, `certbot enhance failed:\n${enhance.stdout}\n${enhance.stderr}`);
  const redirected = readFileSync(site, 'utf8');
  assert.match(redirected, /return 301 https:\/\/\$host\$request_uri;\n    \} # managed by Certbot/);

  const out = join(dir, 'edge.yaml');
  const storage = join(dir, 'certs');
  const imported = await runEdge(['import', 'nginx', join(nginxDir, 'nginx.conf'), '-o', out, '--storage', storage, '--acme-ca-root', pebble.listenerRootFile, '--http-port', String(httpPort)], { cwd: dir });
  assert.equal(imported.code, 0, imported.stderr);
  const yaml = readFileSync(out, 'utf8');
  // what a user sees: the notes on stderr and the config written
  t.diagnostic(`edge import of the certbot-edited config:\n${imported.stderr}\n${yaml}`);
  assert.match(imported.stderr, /sites-enabled\/shop:\d+: server shop\.edge-import\.net: redirects plain HTTP to HTTPS, which edge does by itself \(https_redirect: a 308\), dropped/);
  assert.doesNotMatch(yaml, /https_redirect: false/);
  assert.match(imported.stderr, new RegExp(`certbot: ${NAME.replaceAll('.', '\\.')}: certbot's ${NAME.replaceAll('.', '\\.')} certificate \\(serial ${certbotCert.serialNumber}`));
  assert.match(yaml, /tls: auto/);
  assert.match(yaml, new RegExp(`ca: ${pebble.directory.replaceAll('.', '\\.')}`));
  // this machine's resolver does not know the name (Pebble's own DNS does); the admin endpoint on a free port
  writeFileSync(out, `${yaml.replace(/^acme:\n/m, 'acme:\n  preflight: false\n')}admin: 127.0.0.1:${adminPort}\nlog: { access: off }\n`);
  const check = await runEdge(['check', '-c', out], { cwd: dir });
  assert.equal(check.code, 0, check.stderr);

  const accountBefore = readFileSync(join(storage, '127.0.0.1-' + new URL(pebble.directory).port + '-dir', 'account.json'), 'utf8');
  const edge = await startEdge(['run', '-c', out], { cwd: dir, port: httpPort });
  t.after(() => edge.stop());
  const root = await pebble.issuingRoot();
  assert.equal(await servedSerial(httpsPort, NAME, root), certbotCert.serialNumber, 'edge serves the certificate certbot obtained');
  assert.equal((await httpsGet(httpsPort, NAME, '/', root)).text, 'app\n');
  assert.doesNotMatch(logMessages(edge.stderr()), /ordering|issued/, 'no new order at start');

  const renew = await runEdge(['certs', 'renew', NAME, '--admin', `127.0.0.1:${adminPort}`], { cwd: dir });
  assert.equal(renew.code, 0, renew.stderr);
  await waitFor(() => /issued/.test(logMessages(edge.stderr())), () => `renewal:\n${logMessages(edge.stderr())}`, 60_000);
  const serial = await servedSerial(httpsPort, NAME, root);
  assert.notEqual(serial, certbotCert.serialNumber, 'the renewed certificate is served');
  const accountAfter = readFileSync(join(storage, '127.0.0.1-' + new URL(pebble.directory).port + '-dir', 'account.json'), 'utf8');
  assert.equal(accountAfter, accountBefore);
  const regr = JSON.parse(readFileSync(spawnSync('sh', ['-c', `ls ${le}/accounts/*/*/*/regr.json`], { encoding: 'utf8' }).stdout.trim(), 'utf8'));
  assert.equal(JSON.parse(accountAfter).url, regr.uri);
  // Pebble made one account (certbot's) and validated both orders, certbot's and edge's, for it
  assert.deepEqual(pebble.output().match(/There are now \d+ accounts in memory/g), ['There are now 1 accounts in memory']);
  const owners = [...pebble.output().matchAll(/Account:\(\*core\.Account\)\((0x[0-9a-f]+)\)/g)].map((m) => m[1]);
  assert.equal(owners.length, 2, pebble.output());
  assert.equal(new Set(owners).size, 1, 'both orders belong to one account');

  // the standalone command: the same account and certificate into another storage
  const other = join(dir, 'other-certs');
  const alone = await runEdge(['import', 'certbot', le, '--storage', other], { cwd: dir });
  assert.equal(alone.code, 0, alone.stderr);
  assert.match(alone.stdout, new RegExp(`${NAME.replaceAll('.', '\\.')}: certbot's .* certificate \\(serial ${certbotCert.serialNumber}`));
  assert.match(alone.stdout, new RegExp(`acme:\\n    ca: ${pebble.directory.replaceAll('.', '\\.')}`));
  assert.equal(JSON.parse(readFileSync(join(other, '127.0.0.1-' + new URL(pebble.directory).port + '-dir', 'account.json'), 'utf8')).url, regr.uri);
});
