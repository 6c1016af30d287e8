// An ACME CA edge cannot reach: a refused port, and an HTTPS endpoint whose certificate edge does
// not trust. acme-client used to lose the network error and report "Cannot read properties of
// undefined (reading 'config')" in the log, `edge certs` and the metric; edge now says which URL
// failed, why, and what to change.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, logMessages, runEdge, startEdge, waitFor, type EdgeProcess } from '../helpers/edge.ts';
import { writeConfig } from '../helpers/config.ts';
import { scrape } from '../helpers/metrics.ts';
import { LocalCA } from '../../src/tls/local-ca.ts';
import { FsStorage } from '../../src/tls/storage/fs.ts';

const NAME = 'unreachable.edge-e2e.net';

async function edgeWithCa(directory: string): Promise<{ edge: EdgeProcess; file: string; admin: number }> {
  const http = await freePort();
  const admin = await freePort();
  const { file } = writeConfig(`
http_port: ${http}
https_port: ${await freePort()}
bind: 127.0.0.1
admin: 127.0.0.1:${admin}
storage: ${mkdtempSync(join(tmpdir(), 'edge-certs-'))}
acme: { ca: "${directory}", preflight: false }
sites:
  - hosts: [${NAME}]
    routes: [{ respond: { status: 200, body: ok } }]
`);
  return { edge: await startEdge(['run', '-c', file], { port: http }), file, admin };
}

function failureLine(edge: EdgeProcess): string | undefined {
  return logMessages(edge.stderr()).split('\n').find((l) => l.startsWith(`certificate ${NAME}: FAILED`));
}

describe('an ACME directory on a refused port', () => {
  let edge: EdgeProcess;
  let file: string;
  let admin: number;
  let directory: string;
  before(async () => {
    directory = `https://127.0.0.1:${await freePort()}/directory`;
    ({ edge, file, admin } = await edgeWithCa(directory));
    await waitFor(() => failureLine(edge) !== undefined, () => `a FAILED line in:\n${edge.stderr()}`, 30_000);
  });
  after(async () => {
    await edge?.stop();
  });

  it('logs "cannot reach the ACME directory URL: connection refused (ECONNREFUSED)" and what to check, not a TypeError', () => {
    const line = failureLine(edge)!;
    assert.ok(line.includes(`cannot reach the ACME directory ${directory}: connection refused (ECONNREFUSED); check acme.ca`), line);
    assert.doesNotMatch(edge.stderr(), /Cannot read properties/);
  });

  it('edge certs and the renewal_failing metric carry the same words', async () => {
    const r = await runEdge(['certs', '-c', file]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`${NAME.replaceAll('.', '\\.')} .*cannot reach the ACME directory https://127\\.0\\.0\\.1:\\d+/directory`));
    const families = await scrape(admin);
    const series = families.find((f) => f.name === 'edge_certificate_renewal_failing')!.metrics.find((m) => m.labels?.name === NAME)!;
    assert.equal(series.value, '1');
    assert.match(series.labels!.error!, /^cannot reach the ACME directory .*: connection refused \(ECONNREFUSED\)/);
  });
});

describe('an ACME directory whose HTTPS certificate is not trusted', () => {
  let edge: EdgeProcess;
  let ca: Server;
  let directory: string;
  before(async () => {
    // a certificate from a local CA edge was not told about (no acme.ca_root)
    const local = await LocalCA.load(new FsStorage(mkdtempSync(join(tmpdir(), 'edge-other-ca-'))));
    const issued = await local.issue(['localhost']);
    ca = createServer({ cert: issued.chainPem, key: issued.keyPem }, (_req, res) => res.end('{}'));
    ca.on('tlsClientError', () => {});
    await new Promise<void>((resolve) => ca.listen(0, '127.0.0.1', resolve));
    directory = `https://localhost:${(ca.address() as { port: number }).port}/directory`;
    ({ edge } = await edgeWithCa(directory));
    await waitFor(() => failureLine(edge) !== undefined, () => `a FAILED line in:\n${edge.stderr()}`, 30_000);
  });
  after(async () => {
    await edge?.stop();
    ca?.close();
  });

  it('says the certificate is not trusted and points at acme.ca_root', () => {
    const line = failureLine(edge)!;
    assert.match(line, new RegExp(`cannot reach the ACME directory ${directory.replaceAll('.', '\\.')}: its TLS certificate is not trusted \\([A-Z_]+\\); .*acme\\.ca_root`));
  });
});
