// `edge import nginx [FILE|DIR]` and `edge import certbot [DIR]`: an edge config from an nginx one
// (printed, or written with -o), and certbot's certificates and ACME account moved into edge's
// storage. Every directive not translated is a line on stderr and a comment in the output.

import { existsSync, writeFileSync } from 'node:fs';
import { NginxReadError, readNginx } from './nginx-files.ts';
import { NginxSyntaxError } from './nginx-parse.ts';
import { translateNginx } from './nginx-config.ts';
import { toYaml, type Obj } from './yaml-out.ts';
import { caName, CertbotImportError, importCertbot, readLineages } from './certbot.ts';
import { openStorage } from '../../tls/storage/open.ts';

export interface ImportFlags {
  output?: string;
  httpPort?: number;
  httpsPort?: number;
  storage?: string;
  acmeCaRoot?: string;
}

export interface ImportIo {
  out: (text: string) => void;
  err: (text: string) => void;
}

/** The acme: section that renews with the imported account's CA. */
function acmeSection(servers: Map<string, string | undefined>, flags: ImportFlags): Obj {
  const [server, email] = [...servers][0]!;
  return { ca: caName(server), ...(email ? { email } : {}), ...(flags.acmeCaRoot ? { ca_root: flags.acmeCaRoot } : {}) };
}

async function intoStorage(dir: string, flags: ImportFlags, names: Set<string> | undefined) {
  const storage = openStorage(flags.storage ?? './certs');
  try {
    return await importCertbot(dir, storage, names);
  } catch (err) {
    if (err instanceof CertbotImportError) throw new ImportError(err.message);
    throw err;
  } finally {
    storage.close?.();
  }
}

function safeLineages(dir: string, names: Set<string>) {
  try {
    return readLineages(dir, names);
  } catch {
    return [];
  }
}

export class ImportError extends Error {
  readonly code = 'EIMPORT';
}

export async function importCommand(args: string[], flags: ImportFlags, io: ImportIo): Promise<number> {
  const [what, path, extra] = args;
  if (extra !== undefined) throw new ImportError(`unexpected argument "${extra}"`);
  if (what === 'nginx') return importNginx(path ?? '/etc/nginx/nginx.conf', flags, io);
  if (what === 'certbot') {
    const dir = path ?? '/etc/letsencrypt';
    const result = await intoStorage(dir, flags, undefined);
    for (const line of result.lines) io.out(`${line}\n`);
    const acme = acmeSection(result.servers, flags);
    io.out(`\nedge renews them from ${[...result.servers.keys()].join(', ')} with certbot's account: the config needs\n${toYaml({ acme }).replace(/^/gm, '  ')}`);
    return 0;
  }
  throw new ImportError(what === undefined ? 'import what? edge import nginx [FILE|DIR] or edge import certbot [DIR]' : `cannot import "${what}": edge imports nginx and certbot`);
}

async function importNginx(path: string, flags: ImportFlags, io: ImportIo): Promise<number> {
  let tree;
  try {
    tree = readNginx(path);
  } catch (err) {
    if (err instanceof NginxReadError || err instanceof NginxSyntaxError) throw new ImportError(err.message);
    throw err;
  }
  const t = translateNginx(tree, { httpPort: flags.httpPort, httpsPort: flags.httpsPort });
  if (flags.storage !== undefined) t.config.storage = flags.storage;
  for (const [dir, names] of t.certbot) {
    let servers: Map<string, string | undefined>;
    if (flags.output !== undefined) {
      const result = await intoStorage(dir, flags, names);
      for (const line of result.lines) t.header.push(t.notes.add(`certbot: ${line}`));
      servers = result.servers;
    } else {
      servers = new Map(safeLineages(dir, names).map((l) => [l.server, undefined]));
      t.header.push(t.notes.add(`certbot's certificates (${[...names].join(', ')}): run \`edge import certbot ${dir}\` (or this import with -o) to move them and certbot's account to edge's storage; until then edge obtains new ones`));
    }
    if (servers.size > 0) t.config = { acme: acmeSection(servers, flags), ...t.config };
  }
  const head = [
    `# edge config imported from nginx (${tree.files[0]}) by \`edge import nginx\`.`,
    '# Check it with `edge check -c FILE`. Each "nginx FILE:LINE" comment names what it came from;',
    '# the others say what was not translated and why.',
    ...t.header.map((line) => `# ${line}`),
  ];
  const text = `${head.join('\n')}\n\n${toYaml(t.config)}`;
  for (const line of t.notes.lines) io.err(`${line}\n`);
  if (flags.output !== undefined) {
    if (existsSync(flags.output) && flags.output !== '-') io.err(`${flags.output}: replaced\n`);
    writeFileSync(flags.output, text);
    io.err(`wrote ${flags.output}: ${(t.config.sites as unknown[]).length} site(s), ${t.notes.lines.length} note(s)\n`);
  } else {
    io.out(text);
  }
  return 0;
}

/** The command line's values → the import's flags (kept here so cli.ts only dispatches). */
export function importFromArgs(args: string[], values: Record<string, unknown>, out: (t: string) => void, err: (t: string) => void): Promise<number> {
  const port = (name: string): number | undefined => {
    const v = values[name];
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1 || n > 65535) throw new ImportError(`--${name}: expected a port number (1-65535), got "${v}"`);
    return n;
  };
  const str = (name: string) => (typeof values[name] === 'string' ? values[name] : undefined);
  return importCommand(args, {
    output: str('output'), httpPort: port('http-port'), httpsPort: port('https-port'), storage: str('storage'), acmeCaRoot: str('acme-ca-root'),
  }, { out, err });
}
