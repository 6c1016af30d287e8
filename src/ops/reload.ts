// Reloading from the config file: read and validate it again, then hand the new config to whoever
// applies it (the one-process edge, or the supervisor and its workers). An invalid file, or a
// site's own certificate files that cannot be served, change nothing and are reported as
// file:line:col lines.

import { resolve } from 'node:path';
import type { Config } from '../config/schema.ts';
import { loadConfigFile } from '../config/load.ts';
import { ConfigError, formatProblem } from '../config/errors.ts';
import { certificateFileProblems } from '../config/check.ts';
import { unverifiedUpstreams } from '../config/upstream-tls-schema.ts';
import type { AdminRoute } from './admin.ts';
import type { Logger } from './log.ts';
import type { MetricSource } from './metric-sample.ts';
import { notifyReady, notifyReloading } from './notify.ts';

export type ReloadResult =
  | { ok: true; warnings: string[] }
  | { ok: false; errors: string[] };

/** Applies a valid config; returns what it could not apply (settings that need a restart). */
export type Apply = (config: Config) => Promise<string[]>;

export class Reloader {
  readonly file: string | undefined;
  private readonly apply: Apply;
  private readonly logger: Logger;
  /** One reload at a time: a second SIGHUP waits for the first. */
  private queue: Promise<unknown> = Promise.resolve();
  count = { ok: 0, failed: 0 };

  /** `file` is undefined when edge was started from the command line: nothing to reload from. */
  constructor(file: string | undefined, apply: Apply, logger: Logger) {
    this.file = file && resolve(file);
    this.apply = apply;
    this.logger = logger;
  }

  reload(): Promise<ReloadResult> {
    const run = this.queue.then(() => this.notified());
    this.queue = run.catch(() => {});
    return run;
  }

  /** systemd (Type=notify) sees the unit reloading until the reload is over, applied or refused. */
  private async notified(): Promise<ReloadResult> {
    const warn = (m: string) => this.logger.warn(m);
    await notifyReloading(warn);
    try {
      return await this.once();
    } finally {
      await notifyReady(warn);
    }
  }

  private async once(): Promise<ReloadResult> {
    if (!this.file) return this.failed(['edge was started from the command line: there is no config file to reload']);
    let config: Config;
    try {
      const loaded = loadConfigFile(this.file);
      // sites' own certificate files are read at the reload: ones that cannot be served refuse it
      const refused = (await certificateFileProblems(loaded)).filter((p) => p.severity === 'error');
      if (refused.length > 0) throw new ConfigError(refused);
      config = loaded.config;
      for (const p of unverifiedUpstreams(config, loaded.locate, loaded.pathIn)) this.logger.warn(formatProblem(p));
    } catch (err) {
      if (err instanceof ConfigError) return this.failed(err.problems.filter((p) => p.severity === 'error').map(formatProblem));
      return this.failed([`${this.file}: ${(err as Error).message}`]);
    }
    let warnings: string[];
    try {
      warnings = await this.apply(config);
    } catch (err) {
      return this.failed([`reload failed: ${(err as Error).message}`]);
    }
    this.count.ok++;
    this.logger.info(`config reloaded from ${this.file}${warnings.length ? ` (${warnings.length} setting(s) need a restart)` : ''}`);
    for (const w of warnings) this.logger.warn(`reload: ${w}`);
    return { ok: true, warnings };
  }

  private failed(errors: string[]): ReloadResult {
    this.count.failed++;
    this.logger.error(`reload refused, the running config keeps serving: ${errors.join('; ')}`);
    return { ok: false, errors };
  }

  readonly metrics: MetricSource = () => (['ok', 'failed'] as const).map((result) => ({
    name: 'edge_config_reloads_total',
    help: 'Config reloads (SIGHUP, edge reload), applied (ok) or refused (failed).',
    type: 'counter',
    labels: { result },
    value: this.count[result],
    aggregate: 'max',
  }));

  /** POST /reload?file=PATH: `edge reload` asks through it; PATH guards against reloading another instance. */
  adminRoute(): AdminRoute {
    return {
      method: 'POST',
      path: '/reload',
      handle: async (query) => {
        const asked = query.get('file');
        if (asked && this.file && resolve(asked) !== this.file) {
          return { status: 409, body: { error: `this edge runs ${this.file}, not ${resolve(asked)}` } };
        }
        const result = await this.reload();
        return result.ok ? { status: 200, body: { reloaded: true, warnings: result.warnings } } : { status: 422, body: { reloaded: false, errors: result.errors } };
      },
    };
  }
}
