// `edge reload -c FILE`: checks FILE here first (a bad file is reported as file:line:col and the
// running edge is not touched), then asks the edge running FILE to reload through its admin
// endpoint and prints which instance answered and what. `edge reload --admin ADDR` alone reloads
// whatever file the edge at ADDR runs.

import { resolve } from 'node:path';
import { adminRequest, describeAdmin, describeInstance, identify, type AdminTarget } from './admin-address.ts';

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
