// Readiness for a Type=notify systemd unit: edge started with NOTIFY_SOCKET naming a real Unix
// datagram socket (a python3 receiver standing in for systemd, which is not running here) sends
// READY=1 once it serves, from one process and from the supervisor once every worker listens, and
// RELOADING=1 then READY=1 around each reload, applied or refused. The receiver probes edge the
// moment READY=1 arrives, as `systemctl start` returning lets the next unit in. Without
// systemd-notify edge says so and serves on.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BIN, freePort, logMessages, ROOT, waitFor } from '../helpers/edge.ts';
import { fetchRaw } from '../helpers/http.ts';

/** What the stand-in for systemd read: each datagram, with its probes of edge if it held READY=1. */
interface Received {
  msg: string;
  /** CLOCK_MONOTONIC at receipt, in microseconds (to compare with MONOTONIC_USEC). */
  at: number;
  probes?: string[];
}

// Receives datagrams on argv[1]; on each READY=1, GETs every "port host path" of argv[2:] at once
// and reports the answers (or the connection error) with the datagram, one JSON line each.
const RECEIVER = `
import json, socket, sys, time
def get(port, host, path):
    try:
        c = socket.create_connection(("127.0.0.1", int(port)), timeout=5)
        c.sendall(f"GET {path} HTTP/1.1\\r\\nHost: {host}\\r\\nConnection: close\\r\\n\\r\\n".encode())
        data = b""
        while chunk := c.recv(65536):
            data += chunk
        return data.decode("latin1")
    except OSError as e:
        return f"probe failed: {e!r}"
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
print(json.dumps({"msg": "bound", "at": 0}), flush=True)
while True:
    msg = s.recv(4096).decode()
    out = {"msg": msg, "at": time.monotonic_ns() // 1000}
    if "READY=1" in msg.split("\\n"):
        out["probes"] = [get(*p.split(" ")) for p in sys.argv[2:]]
    print(json.dumps(out), flush=True)
`;

interface Run {
  edge: ChildProcess;
  stderr(): string;
  received: Received[];
  /** Datagrams but systemd-notify's BARRIER=1 (its wait for systemd to have read the message). */
  messages(): Received[];
  close(): Promise<void>;
}

async function receiver(socket: string, probes: string[]): Promise<{ proc: ChildProcess; received: Received[] }> {
  const proc = spawn('python3', ['-c', RECEIVER, socket, ...probes], { stdio: ['ignore', 'pipe', 'inherit'] });
  const received: Received[] = [];
  let buffered = '';
  proc.stdout!.on('data', (d) => {
    buffered += d;
    const lines = buffered.split('\n');
    buffered = lines.pop()!;
    for (const l of lines) received.push(JSON.parse(l) as Received);
  });
  await waitFor(() => received.length > 0 || proc.exitCode !== null, 'the receiver to bind', 20_000);
  assert.equal(received[0]?.msg, 'bound');
  received.shift();
  return { proc, received };
}

/** Starts edge on `config` with NOTIFY_SOCKET set; `probes` are what the receiver GETs on READY=1. */
async function startNotified(config: string, probes: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  const dir = mkdtempSync(join(tmpdir(), 'edge-notify-'));
  const socket = join(dir, 'notify.sock');
  const { proc: py, received } = await receiver(socket, probes);
  const file = join(dir, 'edge.yaml');
  writeFileSync(file, config);
  const edge = spawn(process.execPath, [BIN, 'run', '-c', file], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, NOTIFY_SOCKET: socket, ...env } });
  let stderr = '';
  edge.stderr!.on('data', (d) => (stderr += d));
  return {
    edge,
    stderr: () => stderr,
    received,
    messages: () => received.filter((r) => r.msg !== 'BARRIER=1'),
    close: async () => {
      if (edge.exitCode === null) {
        edge.kill('SIGTERM');
        await new Promise((r) => edge.once('exit', r));
      }
      py.kill();
    },
  };
}

function config(port: number, admin: number, storage: string, extra = ''): string {
  return `http_port: ${port}\nbind: 127.0.0.1\nadmin: 127.0.0.1:${admin}\nstorage: ${storage}\n${extra}sites:\n  - hosts: [test.example]\n    tls: off\n    routes: [{ respond: { body: "served\\n" } }]\n`;
}

const status = (answer: string) => answer.split('\r\n')[0];
const body = (answer: string) => answer.slice(answer.indexOf('\r\n\r\n') + 4);

describe('systemd readiness (Type=notify)', () => {
  it('one process: READY=1 arrives once edge serves, and the banner says it listens', async () => {
    const port = await freePort();
    const admin = await freePort();
    const run = await startNotified(config(port, admin, mkdtempSync(join(tmpdir(), 'edge-notify-certs-'))), [`${port} test.example /`]);
    try {
      await waitFor(() => run.messages().length > 0 || run.edge.exitCode !== null, () => `READY=1:\n${run.stderr()}`, 30_000);
      const [ready] = run.messages();
      assert.deepEqual(ready!.msg.split('\n'), ['READY=1', `STATUS=serving http://127.0.0.1:${port}`]);
      // the moment systemd would let `systemctl start` return, edge answers
      assert.equal(status(ready!.probes![0]!), 'HTTP/1.1 200 OK', ready!.probes![0]);
      assert.equal(body(ready!.probes![0]!), 'served\n');
      await waitFor(() => /listening/.test(run.stderr()), () => `the banner:\n${run.stderr()}`, 10_000);
      assert.equal(run.messages().length, 1, 'READY=1 once');
    } finally {
      await run.close();
    }
  });

  it('with workers: READY=1 only once every worker listens', async () => {
    const port = await freePort();
    const admin = await freePort();
    const run = await startNotified(config(port, admin, mkdtempSync(join(tmpdir(), 'edge-notify-certs-')), 'workers: 2\n'), [`${port} test.example /`, `${admin} 127.0.0.1 /health`]);
    try {
      await waitFor(() => run.messages().length > 0 || run.edge.exitCode !== null, () => `READY=1:\n${run.stderr()}`, 60_000);
      const [ready] = run.messages();
      assert.deepEqual(ready!.msg.split('\n'), ['READY=1', `STATUS=serving http://127.0.0.1:${port} with 2 workers`]);
      const [site, health] = ready!.probes!;
      assert.equal(status(site!), 'HTTP/1.1 200 OK', site);
      assert.equal(status(health!), 'HTTP/1.1 200 OK', health);
      const workers = JSON.parse(body(health!)).workers as { wanted: number; ready: number };
      assert.deepEqual({ wanted: workers.wanted, ready: workers.ready }, { wanted: 2, ready: 2 });
    } finally {
      await run.close();
    }
  });

  it('a reload is RELOADING=1 then READY=1, applied or refused, with a MONOTONIC_USEC of the clock systemd reads', async () => {
    const port = await freePort();
    const admin = await freePort();
    const storage = mkdtempSync(join(tmpdir(), 'edge-notify-certs-'));
    const run = await startNotified(config(port, admin, storage), []);
    const file = (run.edge.spawnargs.at(-1))!;
    try {
      await waitFor(() => run.messages().length === 1, () => `READY=1:\n${run.stderr()}`, 30_000);
      writeFileSync(file, config(port, admin, storage).replace('served', 'reloaded'));
      run.edge.kill('SIGHUP');
      await waitFor(() => run.messages().length === 3, () => `RELOADING=1, READY=1: ${JSON.stringify(run.messages())}\n${run.stderr()}`, 30_000);
      assert.equal((await fetchRaw(port, '/')).text, 'reloaded\n');
      writeFileSync(file, 'sites: [');
      run.edge.kill('SIGHUP');
      await waitFor(() => run.messages().length === 5, () => `RELOADING=1, READY=1: ${JSON.stringify(run.messages())}\n${run.stderr()}`, 30_000);
      assert.match(logMessages(run.stderr()), /reload refused/);
      const [, reloading, ready, refusing, readyAgain] = run.messages();
      for (const r of [reloading!, refusing!]) {
        const [state, usec] = r.msg.split('\n');
        assert.equal(state, 'RELOADING=1');
        const sent = Number(/^MONOTONIC_USEC=(\d+)$/.exec(usec!)![1]);
        assert.ok(sent <= r.at && sent > r.at - 60_000_000, `MONOTONIC_USEC=${sent} is CLOCK_MONOTONIC (received at ${r.at})`);
      }
      assert.equal(ready!.msg, 'READY=1');
      assert.equal(readyAgain!.msg, 'READY=1', 'a refused reload ends the reloading state too');
    } finally {
      await run.close();
    }
  });

  it('no systemd-notify on PATH: edge warns that systemd will not hear READY=1, and serves', async () => {
    const port = await freePort();
    const admin = await freePort();
    const empty = mkdtempSync(join(tmpdir(), 'edge-notify-path-'));
    const run = await startNotified(config(port, admin, mkdtempSync(join(tmpdir(), 'edge-notify-certs-'))), [], { PATH: empty });
    try {
      await waitFor(() => /could not tell systemd READY=1/.test(run.stderr()) || run.edge.exitCode !== null, () => `the warning:\n${run.stderr()}`, 30_000);
      assert.match(logMessages(run.stderr()), /could not tell systemd READY=1 \(NOTIFY_SOCKET=.*\): systemd-notify: spawn systemd-notify ENOENT; .*systemd-notify on PATH/);
      assert.equal(run.edge.exitCode, null);
      assert.equal((await fetchRaw(port, '/')).text, 'served\n');
      assert.deepEqual(run.received, []);
    } finally {
      await run.close();
    }
  });
});
