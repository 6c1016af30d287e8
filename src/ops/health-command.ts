// `edge health [-c FILE] [--admin ADDR]`: asks the running edge's /health and exits 0 when it
// serves (200), 1 otherwise. The Docker HEALTHCHECK runs it with the image's config, so the check
// asks wherever that config puts the admin endpoint instead of a fixed 127.0.0.1:2019.

import { adminRequest, describeAdmin, describeInstance, type AdminTarget, type Instance } from './admin-address.ts';

export class HealthCommandError extends Error {
  readonly code = 'EHEALTH';
}

export async function healthCommand(target: AdminTarget, out: (text: string) => void): Promise<number> {
  const { admin } = target;
  if (!admin) throw new HealthCommandError('admin is off in this config: there is no /health to ask (set admin, or name one with --admin ADDR)');
  let answer;
  try {
    answer = await adminRequest(admin, 'GET', '/health', 5000);
  } catch (err) {
    throw new HealthCommandError(`no running edge answers at ${describeAdmin(admin)} (${(err as Error).message})`);
  }
  const body = answer.body as Instance;
  out(`${body.status ?? `status ${answer.status}`}: ${describeInstance(body, admin)}\n`);
  return answer.status === 200 ? 0 : 1;
}
