// Whether the certificate storage looks like it will not survive a restart: on tmpfs, or on a
// container's own writable layer (overlay at /) with no volume mounted over it. Losing it means
// ordering every certificate again, and the CA's rate limits. Pure over /proc/self/mountinfo.

import { readFile } from 'node:fs/promises';
import { resolve, sep } from 'node:path';
import { isRedisUrl } from '../tls/storage/redis-url.ts';

const RAM = new Set(['tmpfs', 'ramfs']);
const CONTAINER_LAYER = new Set(['overlay', 'aufs', 'fuse-overlayfs']);

/** Why `path` looks ephemeral given this mount table, or undefined when it looks durable. */
export function ephemeralReason(mountinfo: string, path: string): string | undefined {
  let best: { point: string; type: string } | undefined;
  for (const line of mountinfo.split('\n')) {
    // "36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw": point is field 5, type follows " - "
    const fields = line.split(' ');
    const dash = fields.indexOf('-');
    if (fields.length < 5 || dash < 0) continue;
    const point = fields[4]!.replace(/\\040/g, ' ');
    const within = point === '/' || path === point || path.startsWith(point.endsWith(sep) ? point : point + sep);
    if (within && (!best || point.length >= best.point.length)) best = { point, type: fields[dash + 1]! };
  }
  if (!best) return undefined;
  if (RAM.has(best.type)) return `it is on ${best.type} (${best.point}), which is emptied at reboot`;
  if (CONTAINER_LAYER.has(best.type) && best.point === '/') return `it is on the container's own ${best.type} layer, which is lost with the container: mount a volume there`;
  return undefined;
}

export async function checkStorage(storage: string, warn: (message: string) => void): Promise<void> {
  if (isRedisUrl(storage)) return; // shared storage outlives any one machine
  let mountinfo: string;
  try {
    mountinfo = await readFile('/proc/self/mountinfo', 'utf8');
  } catch {
    return; // not Linux: nothing to tell
  }
  const reason = ephemeralReason(mountinfo, resolve(storage));
  if (reason) warn(`storage ${storage} looks ephemeral: ${reason}. Certificates kept there are lost at restart, and ordering them again runs into the CA's rate limits`);
}
