// The driver of scripts/attacks: starts the recording upstream, nginx and edge side by side in
// front of it, replays each attack against each proxy in turn and prints a markdown table
// (attack | nginx | edge | what a careful proxy does). Exits 1 if edge misses any expectation,
// 2 on a setup failure. Every process it starts is stopped on the way out, however it ends.
// Usage (from scripts/attacks): node attacks.ts WORK ROOT HTTP_PORT HTTPS_PORT HTTP_PORT2 HTTPS_PORT2

import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { startUpstream } from './attack-upstream.ts';
import { Proxy } from './attack-proxies.ts';
import { h1ManyCookies, h2CancelledUpload, h2ManyCookies, wsReset, type Cell } from './attack-cases.ts';

const [work, root, ...ports] = process.argv.slice(2);
const [nginxHttp, nginxHttps, edgeHttp, edgeHttps] = ports.map(Number);
if (!work || !root || ![nginxHttp, nginxHttps, edgeHttp, edgeHttps].every((p) => Number.isInteger(p) && p! > 0)) {
  process.stderr.write('usage: node attacks.ts WORK ROOT NGINX_HTTP NGINX_HTTPS EDGE_HTTP EDGE_HTTPS\n');
  process.exit(2);
}
const RESETS = Number(process.env.ATTACKS_RESETS ?? 5);
const WAIT_MS = 1000 * Number(process.env.ATTACKS_WAIT ?? 10);
const note = (line: string) => process.stderr.write(`attacks: ${line}\n`);

// the bash entry's last resort kills what is listed here, this driver included
appendFileSync(join(work, 'pids'), `${process.pid}\n`);
const up = await startUpstream();
const proxies = [
  new Proxy('nginx', { work, root, upstreamPort: up.port, httpPort: nginxHttp!, httpsPort: nginxHttps! }),
  new Proxy('edge', { work, root, upstreamPort: up.port, httpPort: edgeHttp!, httpsPort: edgeHttps! }),
];
process.on('exit', () => proxies.forEach((p) => p.kill()));
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => process.exit(130));

interface Attack {
  name: string;
  expected: string;
  run(proxy: Proxy): Promise<Cell>;
}

const attacks: Attack[] = [
  {
    name: `1. WebSocket upgrade, one frame, TCP RST; ${RESETS} times over HTTP/1.1`,
    expected: 'stays up, answers 200',
    run: (p) => wsReset(p, up, false, RESETS),
  },
  {
    name: `1. the same over TLS`,
    expected: 'stays up, answers 200',
    run: (p) => wsReset(p, up, true, RESETS),
  },
  {
    name: '2. HTTP/2 POST without content-length, RST_STREAM CANCEL after 64 KiB',
    expected: 'app sees an abort (or nothing), never a complete request',
    run: (p) => h2CancelledUpload(p, up, false, WAIT_MS),
  },
  {
    name: '2. HTTP/2 POST with content-length: 1 MiB, RST_STREAM CANCEL after 64 KiB',
    expected: 'app request aborted at once; logged 499',
    run: (p) => h2CancelledUpload(p, up, true, WAIT_MS),
  },
  {
    name: '12. HTTP/2 GET with 200 cookie fields (2.6 KB)',
    expected: '200 (431 past the header limit)',
    run: (p) => h2ManyCookies(p),
  },
  {
    name: '12. reference: the same cookies in one Cookie line over HTTP/1.1',
    expected: '200',
    run: (p) => h1ManyCookies(p),
  },
];

const rows: { attack: Attack; cells: Cell[] }[] = [];
try {
  for (const p of proxies) await p.start();
  note(`upstream on 127.0.0.1:${up.port}; nginx on ${nginxHttp} (HTTPS ${nginxHttps}), edge on ${edgeHttp} (HTTPS ${edgeHttps})`);
  for (const attack of attacks) {
    const cells: Cell[] = [];
    for (const p of proxies) {
      if (await p.revive()) note(`${p.name} restarted after the last attack killed it`);
      note(`${attack.name}: ${p.name}`);
      cells.push(await attack.run(p).catch((err: unknown) => ({ text: `attack failed: ${String(err)}`, ok: false })));
    }
    rows.push({ attack, cells });
  }
} catch (err) {
  note(`setup failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(2);
}
await Promise.all(proxies.map((p) => p.stop()));
await up.close();

const esc = (s: string) => s.replaceAll('|', '\\|');
const mark = (c: Cell) => (c.ok ? c.text : `**${esc(c.text)}**`);
console.log('\n## Hostile clients: nginx and edge side by side\n');
console.log(`- each proxy in front of the same node:http app, which records whether it saw a request end or abort; ${RESETS} resets per WebSocket attack, ${WAIT_MS / 1000} s to see an upload's fate`);
console.log('- bold: not what a careful proxy does\n');
console.log(`| attack | ${proxies.map((p) => p.name).join(' | ')} | a careful proxy |`);
console.log(`|---|${proxies.map(() => '---|').join('')}---|`);
for (const { attack, cells } of rows) console.log(`| ${esc(attack.name)} | ${cells.map(mark).join(' | ')} | ${esc(attack.expected)} |`);
const restarts = proxies.filter((p) => p.starts > 1).map((p) => `${p.name} was started ${p.starts} times`);
if (restarts.length) console.log(`\n- ${restarts.join('; ')} (a proxy an attack killed is started again for the next one)`);
const edgeIndex = proxies.findIndex((p) => p.name === 'edge');
process.exit(rows.some((r) => !r.cells[edgeIndex]!.ok) ? 1 : 0);
