// `edge reload -c FILE`: checks FILE here first (a bad file is reported as file:line:col and the
// running edge is not touched), then asks the edge running FILE to reload through its admin
// endpoint and prints what it answers.

import { resolve } from 'node:path';
import type { LoadedConfig } from '../config/load.ts';
import { adminRequest, describeAdmin, parseAdminAddress } from './admin-address.ts';

export class ReloadCommandError extends Error {
  readonly code = 'ERELOAD';
}

export async function reloadCommand(loaded: LoadedConfig, file: string, out: (text: string) => void): Promise<number> {
  const admin = parseAdminAddress(loaded.config.admin);
  if (!admin) throw new ReloadCommandError(`edge: admin is off in ${file}: send the running edge SIGHUP instead (systemctl reload edge)`);
  let answer;
  try {
    answer = await adminRequest(admin, 'POST', `/reload?file=${encodeURIComponent(resolve(file))}`, 120_000);
  } catch (err) {
    throw new ReloadCommandError(`edge: no running edge answers at ${describeAdmin(admin)} (${(err as Error).message}): start it with edge run -c ${file}`);
  }
  const body = answer.body as { warnings?: string[]; errors?: string[]; error?: string };
  if (answer.status === 200) {
    out(`${file}: reloaded\n`);
    for (const w of body.warnings ?? []) out(`warning: ${w}\n`);
    return 0;
  }
  throw new ReloadCommandError(body.errors?.join('\n') ?? `edge: reload refused: ${body.error ?? `status ${answer.status}`}`);
}
