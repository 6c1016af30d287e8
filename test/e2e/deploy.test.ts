// The deployment files without a Docker engine or systemd (neither runs here): the Dockerfile's
// final stage is laid out in a temp dir as its COPY lines say and its ENTRYPOINT + CMD and
// HEALTHCHECK are run there; the systemd unit's ExecStart and ExecReload are run with the paths
// moved to this checkout, its hardening keys read and (where systemd-analyze is installed) scored
// (its readiness notification: systemd-notify.test.ts); the compose example's socket path is the
// one Gunicorn binds and edge proxies to, and its app healthcheck is run against a stand-in
// Gunicorn on a Unix socket. Not covered: the image build itself (npm ci in node:24-slim),
// Docker's port and volume handling, systemd's sandboxing, Gunicorn and Flask.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { loadConfigFile } from '../../src/config/load.ts';
import { freePort, logMessages, ROOT, waitFor } from '../helpers/edge.ts';
import { fetchRaw } from '../helpers/http.ts';

const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
/** Dockerfile instructions with continuation lines joined and comments dropped. */
const instructions = dockerfile.replace(/\\\n\s*/g, ' ').split('\n').filter((l) => l.trim() !== '' && !l.startsWith('#'));
const finalStage = instructions.slice(instructions.findLastIndex((l) => l.startsWith('FROM ')));
const exec = (instruction: string) => JSON.parse(finalStage.find((l) => l.startsWith(`${instruction} `))!.slice(instruction.length + 1).replace(/^CMD /, ''));

function run(command: string[], cwd: string): ReturnType<typeof spawn> {
  const [bin, ...args] = command;
  return spawn(bin === 'node' ? process.execPath : bin!, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Starts a command that runs edge and resolves once its banner is out, with its stderr so far. */
async function started(proc: ReturnType<typeof spawn>): Promise<() => string> {
  let stderr = '';
  proc.stderr!.on('data', (d) => (stderr += d));
  proc.stdout!.resume();
  await waitFor(() => /listening/.test(stderr) || proc.exitCode !== null, () => `edge to start:\n${stderr}`, 30_000);
  assert.equal(proc.exitCode, null, stderr);
  return () => stderr;
}

function testConfig(port: number, admin: number, storage: string): string {
  return `http_port: ${port}\nbind: 127.0.0.1\nadmin: 127.0.0.1:${admin}\nstorage: ${storage}\nsites:\n  - hosts: [test.example]\n    tls: off\n    routes: [{ respond: { body: "from the image\\n" } }]\n`;
}

describe('Dockerfile', () => {
  it('is multi-stage on node:24-slim, runs as a non-root user, keeps certs/ in a volume, exposes 80 and 443', () => {
    const froms = instructions.filter((l) => l.startsWith('FROM '));
    assert.ok(froms.length >= 2, 'multi-stage');
    for (const f of froms) assert.match(f, /^FROM node:24-slim\b/);
    const user = finalStage.find((l) => l.startsWith('USER '));
    assert.ok(user && !/^USER (root|0)\b/.test(user), 'a USER that is not root');
    assert.ok(finalStage.findIndex((l) => l.startsWith('USER ')) > finalStage.findIndex((l) => l.startsWith('RUN ')), 'USER after the last RUN');
    assert.deepEqual(exec('VOLUME'), ['/app/certs']);
    assert.ok(finalStage.includes('EXPOSE 80 443'));
    assert.match(finalStage.find((l) => l.startsWith('HEALTHCHECK '))!, /"bin\/edge\.js", "health"/, "edge health: the admin endpoint's /health");
    assert.ok(finalStage.some((l) => /^COPY --from=\S+ \/app\/node_modules/.test(l)), 'dependencies from the first stage');
    assert.ok(finalStage.some((l) => /^COPY --from=\S+ \/app\/dist/.test(l)), 'the built JavaScript from the first stage');
    // the `node` npm package (Node 24 for npx on an older system) is 189 MB the image's own node makes useless
    assert.match(instructions.find((l) => l.startsWith('RUN npm ci'))!, /npm prune --omit=dev .*rm -rf node_modules\/node\b/);
  });

  it("stand-in run: the final stage's files, ENTRYPOINT + CMD and HEALTHCHECK work in a temp dir", async () => {
    const app = mkdtempSync(join(tmpdir(), 'edge-image-'));
    for (const line of finalStage.filter((l) => l.startsWith('COPY '))) {
      const parts = line.split(/\s+/).slice(1);
      if (parts[0]!.startsWith('--from=')) {
        // stand-ins for the build stage's output: this checkout's installed tree, its sources, and
        // dist/ built from them as npm ci builds it
        const what = parts[1]!.replace(/^\/app\//, '');
        if (what === 'node_modules') symlinkSync(join(ROOT, 'node_modules'), join(app, 'node_modules'));
        else if (what === 'dist') execFileSync(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(ROOT, 'tsconfig.build.json'), '--outDir', join(app, 'dist')]);
        else cpSync(join(ROOT, what), join(app, what), { recursive: true });
        continue;
      }
      const dest = parts.at(-1)!.replace(/^\.\//, '');
      for (const src of parts.slice(0, -1)) cpSync(join(ROOT, src), join(app, dest === '' || dest.endsWith('/') ? src : dest), { recursive: true });
    }
    mkdirSync(join(app, 'certs'));
    const port = await freePort();
    const admin = await freePort();
    // what a user mounts at /etc/edge/edge.yaml
    const config = join(app, 'edge.yaml');
    writeFileSync(config, testConfig(port, admin, './certs'));
    const command = [...exec('ENTRYPOINT'), ...exec('CMD')];
    assert.deepEqual(command, ['node', 'bin/edge.js', 'run', '-c', '/etc/edge/edge.yaml']);
    const edge = run(command.map((a) => (a === '/etc/edge/edge.yaml' ? config : a)), app);
    try {
      await started(edge);
      assert.equal((await fetchRaw(port, '/')).text, 'from the image\n');
      const check = JSON.parse(finalStage.find((l) => l.startsWith('HEALTHCHECK '))!.replace(/^.* CMD /, '')) as string[];
      assert.deepEqual(check.slice(-2), ['-c', '/etc/edge/edge.yaml'], 'the check reads the admin address from the config CMD runs');
      const withPort = check.map((a) => (a === '/etc/edge/edge.yaml' ? config : a));
      const healthy = spawnSync(process.execPath, withPort.slice(1), { cwd: app, timeout: 20_000 });
      assert.equal(healthy.status, 0, healthy.stderr.toString());
      edge.kill('SIGTERM');
      await new Promise((r) => edge.once('exit', r));
      const unhealthy = spawnSync(process.execPath, withPort.slice(1), { cwd: app, timeout: 20_000 });
      assert.equal(unhealthy.status, 1, 'the check fails once edge is gone');
    } finally {
      edge.kill('SIGKILL');
    }
  });
});

describe('scripts/edge.service', () => {
  const unit = readFileSync(join(ROOT, 'scripts', 'edge.service'), 'utf8');
  const values = (key: string) => [...unit.matchAll(new RegExp(`^${key}=(.*)$`, 'gm'))].map((m) => m[1]!);

  it('restarts always, binds low ports without root, reloads with SIGHUP, and is sandboxed', () => {
    assert.deepEqual(values('Restart'), ['always']);
    assert.deepEqual(values('AmbientCapabilities'), ['CAP_NET_BIND_SERVICE']);
    assert.deepEqual(values('ExecReload'), ['/bin/kill -HUP $MAINPID']);
    assert.deepEqual(values('ProtectSystem'), ['strict']);
    assert.deepEqual(values('NoNewPrivileges'), ['true']);
    assert.deepEqual(values('ReadWritePaths'), ['/var/lib/edge']);
    assert.deepEqual(values('LogsDirectory'), ['edge'], '/var/log/edge, writable for log files');
    assert.deepEqual(values('User'), ['edge'], 'its own user, never root (no User= runs it as root)');
    assert.deepEqual(values('Group'), ['edge']);
    assert.deepEqual(values('MemoryDenyWriteExecute'), [], "V8's JIT needs writable executable memory");
  });

  it('is Type=notify: edge tells systemd it serves through systemd-notify, a child, so NotifyAccess=all', () => {
    assert.deepEqual(values('Type'), ['notify']);
    assert.deepEqual(values('NotifyAccess'), ['all'], 'the main process only (the default) would drop the READY=1 of systemd-notify');
  });

  it('is hardened past the 3.9 of systemd-analyze security, with room for many connections', () => {
    assert.deepEqual(values('SystemCallFilter'), ['@system-service']);
    assert.deepEqual(values('SystemCallErrorNumber'), ['EPERM'], 'a call outside the filter fails, rather than killing edge with SIGSYS');
    assert.deepEqual(values('SystemCallArchitectures'), ['native']);
    for (const key of ['ProtectClock', 'ProtectKernelLogs', 'ProtectHostname', 'PrivateMounts', 'RestrictRealtime', 'RemoveIPC']) assert.deepEqual(values(key), ['true'], key);
    assert.deepEqual(values('ProtectProc'), ['invisible']);
    assert.deepEqual(values('UMask'), ['0077']);
    const files = values('LimitNOFILE');
    assert.equal(files.length, 1);
    assert.ok(Number(files[0]) >= 65536, `LimitNOFILE=${files[0]}: two descriptors a proxied request`);
    assert.deepEqual(values('PrivateTmp'), ['true']);
    assert.match(unit, /^#.*PrivateTmp=true.*\/tmp/m, 'the unit warns that PrivateTmp hides a Gunicorn socket placed in /tmp');
  });

  const analyze = spawnSync('systemd-analyze', ['--version']).status === 0;
  it("systemd-analyze security scores it 1.8 ('OK'), down from 3.9", { skip: !analyze && 'systemd-analyze is not installed' }, () => {
    const scored = spawnSync('systemd-analyze', ['security', '--offline=true', join(ROOT, 'scripts', 'edge.service')], { encoding: 'utf8', timeout: 30_000 });
    const score = /Overall exposure level for edge\.service: (\d+\.\d)/.exec(scored.stdout);
    assert.ok(score, scored.stdout + scored.stderr);
    assert.ok(Number(score[1]) <= 1.8, `exposure ${score[1]}`);
  });

  it('its ExecStartPre, ExecStart and ExecReload commands work (paths moved to this checkout)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'edge-unit-'));
    const port = await freePort();
    const admin = await freePort();
    const config = join(dir, 'edge.yaml');
    writeFileSync(config, testConfig(port, admin, join(dir, 'certs')));
    const local = (line: string) => line.replaceAll('/opt/edge', ROOT).replaceAll('/etc/edge/edge.yaml', config).split(' ');
    const pre = local(values('ExecStartPre')[0]!);
    const checked = spawnSync(pre[0]!, pre.slice(1), { cwd: ROOT, timeout: 30_000 });
    assert.equal(checked.status, 0, checked.stderr.toString());
    const start = local(values('ExecStart')[0]!);
    const edge = spawn(start[0]!, start.slice(1), { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      const stderr = await started(edge);
      writeFileSync(config, testConfig(port, admin, join(dir, 'certs')).replace('from the image', 'reloaded'));
      const reload = values('ExecReload')[0]!.replace('$MAINPID', String(edge.pid)).split(' ');
      assert.equal(spawnSync(reload[0]!, reload.slice(1)).status, 0);
      await waitFor(() => /config reloaded/.test(logMessages(stderr())), () => `reload logged:\n${stderr()}`, 15_000);
      assert.equal((await fetchRaw(port, '/')).text, 'reloaded\n');
    } finally {
      edge.kill('SIGTERM');
      await new Promise((r) => edge.once('exit', r));
    }
  });
});

describe('docker-compose.yml with the Flask example', () => {
  it('edge and Gunicorn share the socket volume, and edge proxies to the socket Gunicorn binds', () => {
    const compose = parseYaml(readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8'));
    const mount = (service: string) => (compose.services[service].volumes as string[]).find((v) => v.startsWith('app-socket:'));
    assert.equal(mount('app'), 'app-socket:/run/app');
    assert.equal(mount('edge'), 'app-socket:/run/app');
    assert.ok((compose.services.edge.volumes as string[]).some((v) => v === 'edge-certs:/app/certs'), 'certificates in a named volume');
    const appDockerfile = readFileSync(join(ROOT, 'examples', 'flask', 'Dockerfile'), 'utf8');
    const bind = /"--bind", "unix:([^"]+)"/.exec(appDockerfile)![1];
    const { config } = loadConfigFile(join(ROOT, 'examples', 'flask', 'edge.yaml'));
    assert.deepEqual(config.sites[0]!.routes[0]!.proxy!.to!.map((t) => t.address.name), [`unix:${bind}`]);
    assert.equal(config.storage, '/app/certs');
    assert.equal(config.admin, '127.0.0.1:2019', 'the admin endpoint inside the container');
  });

  it("Docker's stop does not cut edge's grace period: stop_grace_period is longer, as the systemd unit's TimeoutStopSec", () => {
    const compose = parseYaml(readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8'));
    const { config } = loadConfigFile(join(ROOT, 'examples', 'flask', 'edge.yaml'));
    const stop = composeDuration(compose.services.edge.stop_grace_period);
    assert.ok(stop > config.grace_period, `stop_grace_period ${compose.services.edge.stop_grace_period} > grace_period ${config.grace_period} ms (Docker's default is 10s)`);
    const unit = readFileSync(join(ROOT, 'scripts', 'edge.service'), 'utf8');
    assert.equal(composeDuration(/^TimeoutStopSec=(\S+)$/m.exec(unit)![1]!), stop);
  });

  it('edge waits for a healthy app, and the healthcheck fails until Gunicorn answers on its socket', async () => {
    const compose = parseYaml(readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8'));
    assert.deepEqual(compose.services.edge.depends_on, { app: { condition: 'service_healthy' } });
    const test = compose.services.app.healthcheck.test as string[];
    assert.equal(test[0], 'CMD');
    assert.equal(test[1], 'python3', 'what the python:3.12-slim image has');
    const socketPath = /"--bind", "unix:([^"]+)"/.exec(readFileSync(join(ROOT, 'examples', 'flask', 'Dockerfile'), 'utf8'))![1]!;
    assert.ok(test.some((a) => a.includes(socketPath)), `the check asks ${socketPath}`);
    const dir = mkdtempSync(join(tmpdir(), 'edge-compose-'));
    const local = join(dir, 'gunicorn.sock');
    // asynchronous: the stand-in below answers from this process
    const check = () => new Promise<{ status: number | null; stderr: string }>((resolve) => {
      const proc = spawn(test[1]!, test.slice(2).map((a) => a.replaceAll(socketPath, local)), { stdio: ['ignore', 'ignore', 'pipe'], timeout: 20_000 });
      let stderr = '';
      proc.stderr.on('data', (d) => (stderr += d));
      proc.on('close', (status) => resolve({ status, stderr }));
    });
    assert.notEqual((await check()).status, 0, 'no socket yet: unhealthy');
    // stand-in for Gunicorn: it answers in the request's HTTP version (HTTP/1.0 here), /healthz 200
    let status = 503;
    const seen: string[] = [];
    const gunicorn = createNetServer((sock) => {
      sock.on('error', () => {});
      sock.once('data', (d) => {
        const [method, path, version] = d.toString('latin1').split('\r\n')[0]!.split(' ');
        seen.push(`${method} ${path}`);
        sock.end(`${version} ${path === '/healthz' ? status : 404} X\r\nContent-Length: 3\r\nConnection: close\r\n\r\nok\n`);
      });
    });
    await new Promise<void>((r) => gunicorn.listen(local, r));
    try {
      assert.notEqual((await check()).status, 0, 'Gunicorn answers 503: unhealthy');
      status = 200;
      const healthy = await check();
      assert.equal(healthy.status, 0, healthy.stderr);
      assert.deepEqual(seen, ['GET /healthz', 'GET /healthz']);
    } finally {
      gunicorn.close();
    }
  });
});

/** A compose duration ("45s", "1m30s", "500ms") in milliseconds. */
function composeDuration(text: string): number {
  const units: Record<string, number> = { us: 0.001, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)(us|ms|s|m|h)/g)];
  assert.equal(parts.map((p) => p[0]).join(''), text, `a duration: ${text}`);
  return parts.reduce((sum, p) => sum + Number(p[1]) * units[p[2]!]!, 0);
}
