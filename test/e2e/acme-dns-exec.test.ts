// DNS-01 by the exec provider against real servers: a script of the user's (here one driving
// knsupdate with the TSIG key) publishes the TXT record in Knot, Pebble validates through Knot,
// the propagation check asks the configured nameservers; a failing script's exit status and
// stderr are in the error, and its cleanup still runs.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, startEdge, waitFor, logMessages } from '../helpers/edge.ts';
import { startUpstream } from '../helpers/upstream.ts';
import { writeConfig } from '../helpers/config.ts';
import { startPebble } from '../helpers/pebble.ts';
import { startKnot, type Knot } from '../helpers/knot.ts';
import { httpsGet } from '../helpers/tls-client.ts';

const ZONE = 'exec.edge-e2e.net';
const CHALLENGE = `_acme-challenge.${ZONE}`;
const Z = ZONE.replace(/\./g, '\\.');

/** A hook script in the shape of lego's exec provider: present|cleanup NAME VALUE. */
function hookScript(knot: Knot, opts: { fail: boolean }): { path: string; calls: () => string[] } {
  const dir = mkdtempSync(join(tmpdir(), 'edge-hook-'));
  const path = join(dir, 'dns-hook.sh');
  const calls = join(dir, 'calls.log');
  writeFileSync(path, [
    '#!/bin/sh',
    `echo "$1 $2 $3" >> ${calls}`,
    opts.fail ? 'if [ "$1" = present ]; then echo "api token rejected by the DNS host" >&2; exit 3; fi' : '',
    'case "$1" in',
    '  present) op="add $2. 60 TXT \\"$3\\"" ;;',
    '  cleanup) op="delete $2. TXT \\"$3\\"" ;;',
    '  *) echo "unknown action $1" >&2; exit 2 ;;',
    'esac',
    `knsupdate -y ${knot.key.algorithm}:${knot.key.name}:${knot.key.secret} <<END`,
    `server 127.0.0.1 ${knot.port}`,
    `zone ${knot.zone}`,
    'update $op',
    'send',
    'END',
    '',
  ].join('\n'));
  chmodSync(path, 0o755);
  const read = () => {
    try {
      return readFileSync(calls, 'utf8').trim().split('\n');
    } catch {
      return [];
    }
  };
  return { path, calls: read };
}

async function setUp(fail: boolean) {
  const ports = { http: await freePort(), https: await freePort() };
  const knot = await startKnot({ zone: ZONE });
  const pebble = await startPebble({ httpPort: ports.http, tlsPort: ports.https, dnsServer: knot.address });
  const up = await startUpstream((req, res) => res.end(`app: ${req.headers.host}`), { unix: true });
  const hook = hookScript(knot, { fail });
  const { file } = writeConfig(`
http_port: ${ports.http}
https_port: ${ports.https}
bind: 127.0.0.1
storage: ${mkdtempSync(join(tmpdir(), 'edge-certs-'))}
acme:
  ca: ${pebble.directory}
  ca_root: ${pebble.listenerRootFile}
  dns:
    provider: exec
    command: ${hook.path}
    timeout: 10s
    nameservers: [${knot.address}]
    propagation_timeout: 20s
sites:
  - hosts: ["*.${ZONE}"]
    routes:
      - proxy: { to: ${up.address} }
`);
  const edge = await startEdge(['run', '-c', file], { port: ports.http });
  await waitFor(() => new RegExp(`certificate \\*\\.${Z}: (issued by|FAILED)`).test(logMessages(edge.stderr())), () => `certificate attempted\n${edge.stderr()}`, 60_000);
  const stop = async () => {
    await edge.stop();
    await up.close();
    await pebble.stop();
    await knot.stop();
  };
  return { ports, knot, pebble, edge, hook, stop };
}

describe('a wildcard certificate by DNS-01 through the exec provider (a knsupdate script)', () => {
  let s: Awaited<ReturnType<typeof setUp>>;
  before(async () => (s = await setUp(false)));
  after(() => s?.stop());

  it('is issued and served to two subdomains, verified against Pebble\'s root', async () => {
    assert.match(logMessages(s.edge.stderr()), new RegExp(`certificate \\*\\.${Z}: issued by Pebble Intermediate CA`));
    const root = await s.pebble.issuingRoot();
    for (const name of [`one.${ZONE}`, `two.${ZONE}`]) assert.equal((await httpsGet(s.ports.https, name, '/', root)).text, `app: ${name}`);
  });

  it('ran the script with present then cleanup, NAME VALUE, and the record is gone', async () => {
    const calls = s.hook.calls().map((c) => c.split(' '));
    assert.equal(calls.length, 2);
    const [present, cleanup] = calls;
    assert.deepEqual(present!.slice(0, 2), ['present', CHALLENGE]);
    assert.match(present![2]!, /^[A-Za-z0-9_-]{43}$/);
    assert.deepEqual(cleanup, ['cleanup', CHALLENGE, present![2]]);
    assert.deepEqual(await s.knot.txt(CHALLENGE), []);
  });
});

describe('DNS-01 through an exec script that fails', () => {
  let s: Awaited<ReturnType<typeof setUp>>;
  before(async () => (s = await setUp(true)));
  after(() => s?.stop());

  it('says the script, its exit status and its stderr in the failure', () => {
    const failed = logMessages(s.edge.stderr()).split('\n').find((l) => l.includes('FAILED'))!;
    assert.match(failed, new RegExp(`certificate \\*\\.${Z}: FAILED \\(attempt 1\\): DNS exec provider: ${s.hook.path} present ${CHALLENGE} [A-Za-z0-9_-]{43} exited with status 3: api token rejected by the DNS host; the site has no certificate yet`));
  });

  it('still ran its cleanup, and nothing is in the zone', async () => {
    assert.deepEqual(s.hook.calls().map((c) => c.split(' ')[0]), ['present', 'cleanup']);
    assert.deepEqual(await s.knot.txt(CHALLENGE), []);
  });
});
