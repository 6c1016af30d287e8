// Time to first certificate: starts a fresh Pebble and a fresh edge RUNS times (default 5) and
// reports, per challenge type, the seconds from starting edge to serving a verified certificate,
// and their median. A measurement, not a test. Needs Debian's pebble (apt-get install pebble).
// Usage: node scripts/acme-timing.ts [RUNS]

import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, startEdge, waitFor } from '../test/helpers/edge.ts';
import { writeConfig } from '../test/helpers/config.ts';
import { startPebble } from '../test/helpers/pebble.ts';
import { servedSerial } from '../test/helpers/tls-client.ts';

const RUNS = Number(process.argv[2] ?? 5);
const NAME = 'timing.edge-e2e.net';

async function once(challenge: string): Promise<number> {
  const [http, https] = await Promise.all([freePort(), freePort()]);
  const pebble = await startPebble({ httpPort: http, tlsPort: https });
  const { file } = writeConfig(`
http_port: ${http}
https_port: ${https}
bind: 127.0.0.1
admin: off
log: { access: off }
storage: ${mkdtempSync(join(tmpdir(), 'edge-timing-'))}
acme: { ca: "${pebble.directory}", ca_root: ${pebble.listenerRootFile}, challenges: [${challenge}], preflight: false }
sites:
  - hosts: [${NAME}]
    routes: [{ respond: { body: ok } }]
`);
  const started = performance.now();
  const edge = await startEdge(['run', '-c', file], { port: http });
  try {
    await waitFor(() => edge.stderr().includes(`certificate ${NAME}: issued`), 'certificate', 60_000);
    await servedSerial(https, NAME, await pebble.issuingRoot());
    return (performance.now() - started) / 1000;
  } finally {
    await edge.stop();
    await pebble.stop();
  }
}

for (const challenge of ['http-01', 'tls-alpn-01']) {
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) times.push(await once(challenge));
  const sorted = [...times].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)]!;
  process.stdout.write(`${challenge}: ${times.map((t) => t.toFixed(2)).join(' ')} s; median ${median.toFixed(2)} s (edge start to verified certificate)\n`);
}
