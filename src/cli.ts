// The command line: argv → a command. The one-liner and `run -c FILE` both end in one Config.

import { parseArgs } from 'node:util';
import { readFileSync } from 'node:fs';
import { configFromFlags, DEFAULT_UPSTREAM, type OneLinerFlags } from './config/flags.ts';
import { loadConfigFile, type LoadedConfig } from './config/load.ts';
import { certificateFileProblems, checkEnvironment, upstreamSocketProblems } from './config/check.ts';
import { unverifiedUpstreams } from './config/upstream-tls-schema.ts';
import { parseWorkersFlag, workerCount } from './config/ops-schema.ts';
import { Supervisor, WorkerStartError } from './ops/supervisor.ts';
import { ConfigError, formatProblem } from './config/errors.ts';
import { Edge } from './server/edge.ts';
import { ListenError } from './server/listeners.ts';
import { certsCommand, CertsCommandError } from './ops/certs-command.ts';
import { cacheCommand, CacheCommandError } from './ops/cache-command.ts';
import { reloadCommand, ReloadCommandError, reportRejected } from './ops/reload-command.ts';
import { healthCommand, HealthCommandError } from './ops/health-command.ts';
import { parseAdminAddress, type AdminTarget } from './ops/admin-address.ts';
import { StorageFolderError } from './tls/storage/fs-root.ts';
import { importFromArgs, ImportError } from './config/import/command.ts';

const DEFAULT_CONFIG = 'conf/edge.yaml';

export const VERSION: string = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).version;

const HELP = `edge ${VERSION}: one program in front of your web app

Usage:
  edge --domain NAME [--domain NAME ...] [--to UPSTREAM ...] [--static DIR] [options]
  edge run   [-c FILE]     serve the sites in FILE (default ${DEFAULT_CONFIG})
  edge check [-c FILE]     check FILE and this machine, like nginx -t; exit 1 on errors
  edge reload [-c FILE]    zero-downtime reload of the edge running FILE (through its admin
                           endpoint); prints the errors and exits 1 if FILE is invalid
  edge certs [list] [-c FILE]       every certificate: issuer, expiry, next renewal, last error
  edge certs renew NAME [-c FILE]   renew NAME now (asks the running edge)
  edge cache [stats] [-c FILE]      the running edge's caches: entries, size, hits, misses
  edge cache purge URL [--prefix] [-c FILE]   remove URL (or everything under it) from the caches
  edge health [-c FILE]    the running edge's /health; exit 0 while it serves
  edge import nginx [FILE|DIR] [-o FILE]   an edge config from an nginx one (default
                           /etc/nginx/nginx.conf); what is not translated is said on stderr
  edge import certbot [DIR] [--storage DIR]   certbot's certificates and ACME account (default
                           /etc/letsencrypt) into edge's storage, so edge serves and renews them
  edge version
  The commands that ask the running edge (reload, certs, cache, health) take --admin ADDR to
  name its admin endpoint (e.g. a one-liner's --admin), instead of the one in FILE.

One-liner options:
  --domain NAME        a name to serve (repeat for more)
  --to UPSTREAM        host:port, http://host:port, https://host:port or unix:/path.sock (default ${DEFAULT_UPSTREAM});
                       repeat to spread requests over several
  --lb POLICY          how requests are spread over the --to upstreams: round_robin (default),
                       least_conn, random, p2c, ip_hash, first, header:NAME or cookie:NAME
  --static DIR         serve the files in DIR; with --to, files first, then the app
  --cache SIZE         cache the app's responses (RFC 9111) in up to SIZE of memory, e.g. 256MB
  --http-port PORT     port for HTTP: ACME challenges and redirects to HTTPS (default 80)
  --https-port PORT    port for HTTPS, HTTP/2 and HTTP/1.1 (default 443)
  --tls MODE           auto (default: Let's Encrypt, or the local CA for localhost, IPs,
                       *.test/.internal/.local), internal (local CA), off (plain HTTP)
  --email ADDR         contact for the ACME account (optional)
  --storage DIR        certificates, keys and ACME account (default ./certs)
  --acme-ca CA         letsencrypt (default), letsencrypt-staging, or an ACME directory URL
  --acme-ca-root FILE  extra root to trust for the ACME server (a private CA, Pebble)
  --admin ADDR         admin endpoint: host:port, unix:/path or off (default 127.0.0.1:2019)
  --bind ADDR          address to listen on (default: all; repeat for more)
  --workers N|auto     worker processes (default 1: one process; auto: one per CPU core);
                       also overrides workers: in a config file
  --max-body-size SIZE largest request body, e.g. 100MB; past it the client gets 413
                       (default 10MiB; 0: no limit)
  --access-log WHERE   stdout, stderr, off or a file (default stdout)
  --log-format FMT     combined or json (default combined)

Examples:
  edge --domain example.com --to unix:/run/gunicorn.sock
  edge --domain localhost --http-port 8080 --https-port 8443 --to 127.0.0.1:8000
  edge --domain app.example --tls off --http-port 8080
  edge --domain example.com --static ./public --to unix:/run/gunicorn.sock
  edge --domain example.com --to unix:/run/app1.sock --to unix:/run/app2.sock --lb least_conn
  edge check -c conf/edge.yaml
  edge run -c conf/edge.yaml

Signals: SIGTERM/SIGINT stop gracefully (in-flight requests finish), SIGHUP reloads the config
file (like edge reload), SIGUSR1 reopens log files.
`;

const OPTIONS = {
  config: { type: 'string', short: 'c' },
  output: { type: 'string', short: 'o' },
  domain: { type: 'string', multiple: true },
  to: { type: 'string', multiple: true },
  static: { type: 'string' },
  cache: { type: 'string' },
  prefix: { type: 'boolean' },
  lb: { type: 'string' },
  'http-port': { type: 'string' },
  bind: { type: 'string', multiple: true },
  'access-log': { type: 'string' },
  'log-format': { type: 'string' },
  'https-port': { type: 'string' },
  tls: { type: 'string' },
  email: { type: 'string' },
  storage: { type: 'string' },
  'acme-ca': { type: 'string' },
  'acme-ca-root': { type: 'string' },
  admin: { type: 'string' },
  workers: { type: 'string' },
  'max-body-size': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'v' },
} as const;

class UsageError extends Error {
  readonly code = 'EUSAGE';
}

export async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
  } catch (err) {
    return fail(`${(err as Error).message.replace(/\. To specify a positional.*$/s, '')}\nRun "edge --help" for usage.`);
  }
  const { values, positionals } = parsed;
  const command = positionals[0] ?? (values.domain || values.to || values.static ? 'serve' : undefined);
  if (values.help || command === 'help') return print(HELP);
  if (values.version || command === 'version') return print(`edge ${VERSION}\n`);
  if (positionals.length > 1 && command !== 'certs' && command !== 'cache' && command !== 'import') return fail(`unexpected argument "${positionals[1]}"\nRun "edge --help" for usage.`);
  try {
    switch (command) {
      case undefined:
        return print(HELP);
      case 'serve':
      case 'run':
        return await run(load(values, command));
      case 'check':
        return await check(load(values, 'check'));
      case 'reload': {
        let target: AdminTarget;
        try {
          target = adminTarget(values, 'reload');
        } catch (err) {
          if (err instanceof ConfigError) await reportRejected(values.config ?? DEFAULT_CONFIG, values.admin);
          throw err;
        }
        return await reloadCommand(target, target.loaded ? values.config ?? DEFAULT_CONFIG : undefined, (text) => process.stdout.write(text));
      }
      case 'certs':
        await certsCommand(positionals.slice(1), adminTarget(values, 'certs'), (text) => process.stdout.write(text));
        return 0;
      case 'cache':
        await cacheCommand(positionals.slice(1), values.prefix === true, adminTarget(values, 'cache'), (text) => process.stdout.write(text));
        return 0;
      case 'import':
        return await importFromArgs(positionals.slice(1), values, (text) => process.stdout.write(text), (text) => process.stderr.write(text));
      case 'health':
        return await healthCommand(adminTarget(values, 'health'), (text) => process.stdout.write(text));
      default:
        return fail(`unknown command "${command}"\nRun "edge --help" for usage.`);
    }
  } catch (err) {
    if (err instanceof ConfigError) return fail(err.problems.map(formatProblem).join('\n'), false);
    if (err instanceof ReloadCommandError) return fail(err.message, false);
    if (err instanceof UsageError || err instanceof ListenError || err instanceof CertsCommandError || err instanceof WorkerStartError || err instanceof CacheCommandError
      || err instanceof StorageFolderError || err instanceof HealthCommandError || err instanceof ImportError) return fail(err.message);
    throw err;
  }
}

/**
 * Where an admin command asks: --admin ADDR, or the config's admin. With --admin and no -c (nor
 * one-liner flags) no file is read, so a one-liner's instance can be asked from anywhere.
 */
function adminTarget(values: { config?: string; workers?: string } & OneLinerFlags, command: string): AdminTarget {
  const oneLiner = values.domain !== undefined || values.to !== undefined || values.static !== undefined;
  if (values.admin === undefined) {
    const loaded = load(values, command);
    return { admin: parseAdminAddress(loaded.config.admin), loaded };
  }
  const admin = parseAdminAddress(values.admin);
  if (!admin || (admin.kind === 'tcp' && !(admin.port > 0 && admin.port < 65536 && admin.host !== ''))) {
    throw new UsageError(`--admin: expected the running edge's admin endpoint as host:port or unix:/path, got "${values.admin}"`);
  }
  const loaded = values.config !== undefined || oneLiner ? load({ ...values, admin: undefined }, command) : undefined;
  return { admin, loaded };
}

function load(values: { config?: string; workers?: string } & OneLinerFlags, command: string): LoadedConfig {
  const oneLiner = values.domain !== undefined || values.to !== undefined || values.static !== undefined;
  if (values.config !== undefined && oneLiner) throw new UsageError('use either -c FILE or --domain/--to/--static, not both');
  if (oneLiner || command === 'serve') {
    if (!values.domain?.length) throw new UsageError('--domain is required: the name this site answers to, e.g. --domain example.com');
    return configFromFlags(values);
  }
  const flagsOnly = ['cache', 'lb', 'http-port', 'https-port', 'bind', 'access-log', 'log-format', 'tls', 'email', 'storage', 'acme-ca', 'acme-ca-root', 'admin', 'max-body-size'] as const;
  const stray = flagsOnly.find((f) => values[f] !== undefined);
  if (stray) throw new UsageError(`--${stray} goes with --domain; in a config file, set it there (edge check -c FILE explains the keys)`);
  const loaded = loadConfigFile(values.config ?? DEFAULT_CONFIG);
  if (values.workers !== undefined) {
    const workers = parseWorkersFlag(values.workers);
    if (workers === undefined) throw new UsageError(`--workers: expected auto or a number from 1 to 64, got "${values.workers}"`);
    loaded.config.workers = workers;
  }
  return loaded;
}

async function check(loaded: LoadedConfig): Promise<number> {
  const { problems, heldBy } = await checkEnvironment(loaded);
  for (const p of problems) process.stderr.write(`${formatProblem(p)}\n`);
  if (problems.some((p) => p.severity === 'error')) return 1;
  print(`${loaded.files[0] ? displayName(loaded) : 'command line'}: ok${heldBy ? ` (ports held by the running edge, pid ${heldBy.pid})` : ''}\n`);
  return 0;
}

function displayName(loaded: LoadedConfig): string {
  return loaded.locate([]).replace(/:\d+:\d+$/, '');
}

async function run(loaded: LoadedConfig): Promise<number> {
  // a site's own certificate files that cannot be served stop the start before anything listens
  const refused = (await certificateFileProblems(loaded)).filter((p) => p.severity === 'error');
  if (refused.length > 0) throw new ConfigError(refused);
  // as edge check says it: the app may be started after edge, so a warning, not a refusal
  for (const p of [...(await upstreamSocketProblems(loaded)), ...unverifiedUpstreams(loaded.config, loaded.locate, loaded.pathIn)]) process.stderr.write(`${formatProblem(p)}\n`);
  const opts = { source: loaded.files[0] ? displayName(loaded) : 'command line', version: VERSION, file: loaded.files[0] };
  const count = workerCount(loaded.config.workers);
  // workers: 1 stays one process, without a supervisor
  const edge = count > 1 ? await Supervisor.start(loaded.config, { ...opts, count }) : await Edge.start(loaded.config, opts);
  process.on('SIGUSR1', () => edge.reopenLogs());
  process.on('SIGHUP', () => {
    edge.logger.info('SIGHUP received: reloading');
    void edge.reloader.reload();
  });
  process.on('uncaughtException', (err) => {
    edge.logger.error(`internal error, stopping: ${err.stack ?? err.message}`);
    edge.logger.flushSync();
    process.exit(70);
  });
  let signals = 0;
  const stop = (signal: string) => {
    if (++signals > 1) {
      edge.logger.warn(`${signal} again: stopping now`);
      edge.logger.flushSync();
      process.exit(1);
    }
    edge.logger.info(`${signal} received`);
    void edge.stop().then(() => process.exit(0));
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  return new Promise<number>(() => {});
}

function print(text: string): number {
  process.stdout.write(text);
  return 0;
}

function fail(message: string, prefix = true): number {
  process.stderr.write(`${prefix ? 'edge: ' : ''}${message}\n`);
  return 1;
}
