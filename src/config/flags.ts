// The one-liner: `edge --domain example.com --to unix:/run/app.sock` becomes the same raw config a
// file would give, validated by the same schema. Problems name the flag instead of a line.

import { ConfigError } from './errors.ts';
import { validateConfig, type LoadedConfig } from './load.ts';

export interface OneLinerFlags {
  domain?: string[];
  to?: string[];
  static?: string;
  cache?: string;
  lb?: string;
  'http-port'?: string;
  bind?: string[];
  'access-log'?: string;
  'log-format'?: string;
  'https-port'?: string;
  tls?: string;
  email?: string;
  storage?: string;
  'acme-ca'?: string;
  'acme-ca-root'?: string;
  admin?: string;
  workers?: string;
  'max-body-size'?: string;
}

export const DEFAULT_UPSTREAM = '127.0.0.1:8000';

const FLAG_OF: [RegExp, string][] = [
  [/^sites\.0\.hosts/, '--domain'],
  [/^sites\.0\.routes\.0\.proxy\.to/, '--to'],
  [/^sites\.0\.routes\.0\.proxy\.balance/, '--lb'],
  [/^sites\.0\.routes\.0\.static/, '--static'],
  [/^sites\.0\.routes\.0\.cache/, '--cache'],
  [/^sites\.0\.cache/, '--cache'],
  [/^http_port/, '--http-port'],
  [/^https_port/, '--https-port'],
  [/^sites\.0\.tls/, '--tls'],
  [/^storage/, '--storage'],
  [/^acme\.email/, '--email'],
  [/^acme\.ca_root/, '--acme-ca-root'],
  [/^acme\.ca/, '--acme-ca'],
  [/^bind/, '--bind'],
  [/^admin/, '--admin'],
  [/^workers/, '--workers'],
  [/^limits\.max_body_size/, '--max-body-size'],
  [/^log\.access/, '--access-log'],
  [/^log\.format/, '--log-format'],
];

/**
 * The one route: the app (--to, or the default upstream); files from --static, then the app if
 * --to is given too (nginx's try_files $uri $uri/ @app); or files alone.
 */
function oneRoute(flags: OneLinerFlags): Record<string, unknown> {
  const to = flags.to?.length ? flags.to : undefined;
  const balance = flags.lb !== undefined ? { balance: flags.lb } : {};
  if (flags.static === undefined) return { match: '/', proxy: { to: to ?? [DEFAULT_UPSTREAM], ...balance } };
  if (to === undefined) {
    if (flags.lb !== undefined) throw new ConfigError([{ where: '--lb', message: '--lb spreads requests over the --to upstreams, and there are none', severity: 'error' }]);
    return { match: '/', static: { root: flags.static } };
  }
  return { match: '/', static: { root: flags.static, try_files: ['$uri', '$uri/', '@proxy'] }, proxy: { to, ...balance } };
}

export function configFromFlags(flags: OneLinerFlags): LoadedConfig {
  const raw: Record<string, unknown> = {
    sites: [{
      hosts: flags.domain ?? [],
      routes: [oneRoute(flags)],
      ...(flags.cache !== undefined ? { cache: { max_size: flags.cache } } : {}),
      ...(flags.tls !== undefined ? { tls: flags.tls } : {}),
    }],
  };
  const port = (text: string) => (/^\d+$/.test(text) ? Number(text) : text);
  if (flags['http-port'] !== undefined) raw.http_port = port(flags['http-port']);
  if (flags['https-port'] !== undefined) raw.https_port = port(flags['https-port']);
  if (flags.storage !== undefined) raw.storage = flags.storage;
  if (flags.admin !== undefined) raw.admin = flags.admin;
  if (flags.workers !== undefined) raw.workers = flags.workers === 'auto' ? 'auto' : port(flags.workers);
  const acme = {
    ...(flags.email !== undefined ? { email: flags.email } : {}),
    ...(flags['acme-ca'] !== undefined ? { ca: flags['acme-ca'] } : {}),
    ...(flags['acme-ca-root'] !== undefined ? { ca_root: flags['acme-ca-root'] } : {}),
  };
  if (Object.keys(acme).length > 0) raw.acme = acme;
  if (flags.bind?.length) raw.bind = flags.bind;
  if (flags['max-body-size'] !== undefined) raw.limits = { max_body_size: flags['max-body-size'] };
  if (flags['access-log'] !== undefined || flags['log-format'] !== undefined) {
    raw.log = {
      ...(flags['access-log'] !== undefined ? { access: flags['access-log'] } : {}),
      ...(flags['log-format'] !== undefined ? { format: flags['log-format'] } : {}),
    };
  }
  try {
    return validateConfig(raw, (path) => {
      const dotted = path.map(String).join('.');
      return FLAG_OF.find(([re]) => re.test(dotted))?.[1] ?? 'edge';
    });
  } catch (err) {
    // the flag says where; the config path behind it would only confuse
    if (err instanceof ConfigError) throw new ConfigError(err.problems.map(({ path: _, ...p }) => p));
    throw err;
  }
}
