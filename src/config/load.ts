// Loads the config from a YAML file and its includes, or from a raw object (the command line),
// and returns one validated Config. Every problem found is reported with its place.

import { existsSync, globSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import type * as z from 'zod';
import { configSchema, includeFileSchema, type Config } from './schema.ts';
import { needsDns } from './tls-schema.ts';
import { YamlSource } from './yaml-source.ts';
import { ConfigError, formatPath, type Problem } from './errors.ts';
import { issuesToProblems, type Locate } from './issues.ts';
import { unknownPools } from './upstream-schema.ts';

export interface LoadedConfig {
  config: Config;
  /** Where a value of the merged config came from: "file:line:col" or a flag. */
  locate: Locate;
  /** A key path as shown to a person: as written in the file it came from (an included file's sites count from 0). */
  pathIn: (path: readonly PropertyKey[]) => string;
  /** The files read, main file first. */
  files: string[];
}

function parseWith<S extends z.ZodType>(schema: S, data: unknown, locate: Locate): { value?: z.output<S>; problems: Problem[] } {
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    return { problems: [{ where: locate([]), message: 'expected a mapping of settings (key: value)', severity: 'error' }] };
  }
  const result = schema.safeParse(data, { reportInput: true });
  if (result.success) return { value: result.data, problems: [] };
  return { problems: sortByPlace(issuesToProblems(result.error.issues, schema, locate)) };
}

export function loadConfigFile(file: string): LoadedConfig {
  const path = resolve(file);
  if (!existsSync(path)) throw new ConfigError([{ where: file, message: 'no such config file', severity: 'error' }]);
  const main = new YamlSource(path);
  if (main.problems.length > 0) throw new ConfigError(main.problems);
  const parsed = parseWith(configSchema, main.data, (p, o) => main.locate(p, o));
  if (!parsed.value) throw new ConfigError(parsed.problems);
  const config = parsed.value;

  const origins: { source: YamlSource; index: number }[] = config.sites.map((_, index) => ({ source: main, index }));
  const problems: Problem[] = [];
  const files = [path];
  config.include.forEach((pattern, i) => {
    const found = expandInclude(pattern, dirname(path));
    if (found.length === 0 && !/[*?[{]/.test(pattern)) {
      problems.push({ where: main.locate(['include', i]), message: `include: no such file "${pattern}"`, severity: 'error' });
    }
    for (const includedPath of found) {
      const source = new YamlSource(includedPath);
      files.push(includedPath);
      if (source.problems.length > 0) {
        problems.push(...source.problems);
        continue;
      }
      const included = parseWith(includeFileSchema, source.data, (p, o) => source.locate(p, o));
      problems.push(...included.problems);
      included.value?.sites.forEach((site, index) => {
        config.sites.push(site);
        origins.push({ source, index });
      });
    }
  });

  const originOf = (p: readonly PropertyKey[]) => (p[0] === 'sites' && typeof p[1] === 'number' ? origins[p[1]] : undefined);
  const locate: Locate = (p, o) => {
    const origin = originOf(p);
    return origin ? origin.source.locate(['sites', origin.index, ...p.slice(2)], o) : main.locate(p, o);
  };
  const pathIn = (p: readonly PropertyKey[]) => {
    const origin = originOf(p);
    return formatPath(origin ? ['sites', origin.index, ...p.slice(2)] : p);
  };
  const loaded = { config, locate, pathIn, files };
  problems.push(...duplicateHosts(loaded), ...onDemandWithoutAsk(loaded), ...dnsWithoutProvider(loaded), ...unknownPools(config, locate, pathIn));
  if (problems.length > 0) throw new ConfigError(problems);
  return loaded;
}

/** File order, then line, then column, so problems read top to bottom. */
function sortByPlace(problems: Problem[]): Problem[] {
  const key = (p: Problem) => {
    const m = /:(\d+):(\d+)$/.exec(p.where);
    return m ? Number(m[1]) * 1e5 + Number(m[2]) : 0;
  };
  return problems.sort((a, b) => key(a) - key(b));
}

function expandInclude(pattern: string, base: string): string[] {
  const absolute = isAbsolute(pattern) ? pattern : resolve(base, pattern);
  return globSync(absolute).map((f) => resolve(f)).sort();
}

/** Validates a config built in code (the command-line one-liner); `locate` names the flag behind a path. */
export function validateConfig(raw: Record<string, unknown>, locate: Locate): LoadedConfig {
  const parsed = parseWith(configSchema, raw, locate);
  if (!parsed.value) throw new ConfigError(parsed.problems);
  const loaded = { config: parsed.value, locate, pathIn: formatPath, files: [] };
  const problems = [...duplicateHosts(loaded), ...onDemandWithoutAsk(loaded), ...dnsWithoutProvider(loaded), ...unknownPools(loaded.config, locate, formatPath)];
  if (problems.length > 0) throw new ConfigError(problems);
  return loaded;
}

/** A wildcard name, or a site asking for dns-01, needs acme.dns to publish its TXT records. */
function dnsWithoutProvider({ config, locate, pathIn }: LoadedConfig): Problem[] {
  if (config.acme.dns) return [];
  return config.sites.flatMap((site, s) => site.hosts.flatMap((host, h) => !needsDns(site, host, config.acme.challenges) ? [] : [{
    where: locate(['sites', s, 'hosts', h]),
    path: pathIn(['sites', s, 'hosts', h]),
    message: host.startsWith('*.')
      ? `${host} needs a DNS-01 challenge for a certificate: configure acme.dns (provider rfc2136 or exec), or use tls: internal or tls: { cert, key }`
      : `${host} is to be validated by dns-01, which needs acme.dns (provider rfc2136 or exec)`,
    severity: 'error' as const,
  }]));
}

/** tls: on_demand obtains certificates for names nobody listed: only with an ask endpoint to vet them. */
function onDemandWithoutAsk({ config, locate, pathIn }: LoadedConfig): Problem[] {
  if (config.acme.on_demand) return [];
  return config.sites.flatMap((site, s) => site.tls !== 'on_demand' ? [] : [{
    where: locate(['sites', s, 'tls']),
    path: pathIn(['sites', s, 'tls']),
    message: 'tls: on_demand needs acme.on_demand.ask, the endpoint that approves each name before a certificate is ordered',
    severity: 'error' as const,
  }]);
}

function duplicateHosts({ config, locate, pathIn }: LoadedConfig): Problem[] {
  const seen = new Map<string, string>();
  const problems: Problem[] = [];
  config.sites.forEach((site, s) => {
    site.hosts.forEach((host, h) => {
      const path = ['sites', s, 'hosts', h];
      const first = seen.get(host);
      if (first !== undefined) {
        problems.push({
          where: locate(path),
          path: pathIn(path),
          message: `host "${host}" is already served by the site at ${first}`,
          severity: 'error',
        });
      } else {
        seen.set(host, locate(path));
      }
    });
  });
  return problems;
}
