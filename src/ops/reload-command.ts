// `edge reload -c FILE`: checks FILE here first (a bad file is reported as file:line:col and the
// running edge keeps its config, though it is told, so that it logs and counts the refusal), then
// asks the edge running FILE to reload through its admin endpoint and prints which instance
// answered and what. `edge reload --admin ADDR` alone reloads whatever file the edge at ADDR runs.

import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { adminRequest, describeAdmin, describeInstance, identify, parseAdminAddress, type AdminTarget } from './admin-address.ts';

export class ReloadCommandError extends Error {
  readonly code = 'ERELOAD';
}

export async function reloadCommand(target: AdminTarget, file: string | undefined, out: (text: string) => void): Promise<number> {
  const { admin } = target;
  if (!admin) throw new ReloadCommandError(`edge: admin is off in ${file}: send the running edge SIGHUP instead (systemctl reload edge), or name its admin endpoint with --admin ADDR`);
  const instance = await identify(admin);
  if (!instance) throw new ReloadCommandError(`edge: no running edge answers at ${describeAdmin(admin)}: start it with edge run -c ${file ?? 'FILE'}`);
  let answer;
  try {
    answer = await adminRequest(admin, 'POST', `/reload${file === undefined ? '' : `?file=${encodeURIComponent(resolve(file))}`}`, 120_000);
  } catch (err) {
    throw new ReloadCommandError(`edge: ${describeInstance(instance, admin)} did not answer the reload (${(err as Error).message})`);
  }
  const body = answer.body as { warnings?: string[]; errors?: string[]; error?: string };
  if (answer.status === 200) {
    out(`${file ?? instance.config}: reloaded by ${describeInstance(instance, admin)}\n`);
    for (const w of body.warnings ?? []) out(`warning: ${w}\n`);
    return 0;
  }
  throw new ReloadCommandError(body.errors?.join('\n') ?? `edge: reload refused by ${describeInstance(instance, admin)}: ${body.error ?? `status ${answer.status}`}`);
}

/**
 * FILE did not validate here: the edge running it is asked to reload it all the same, so that it
 * refuses it as well, which it logs and counts (edge_config_reloads_total{result="failed"}).
 * Its admin address is read from the broken file as well as it can be (a top-level `admin:`),
 * else the default; nothing happens unless the edge there runs this very file.
 */
export async function reportRejected(file: string, admin: string | undefined): Promise<void> {
  let address = admin;
  if (address === undefined) {
    try {
      address = /^admin:[ \t]*["']?([^\s"'#]+)/m.exec(readFileSync(file, 'utf8'))?.[1] ?? '127.0.0.1:2019';
    } catch {
      return;
    }
  }
  const target = parseAdminAddress(address);
  if (!target) return;
  const instance = await identify(target, 2000);
  if (instance?.config_file !== resolve(file)) return;
  await adminRequest(target, 'POST', `/reload?file=${encodeURIComponent(resolve(file))}`, 30_000).catch(() => undefined);
}
