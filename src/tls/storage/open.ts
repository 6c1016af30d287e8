// The Storage a `storage:` value names: a folder (the default, ./certs) or a Redis URL for a fleet.

import { resolve } from 'node:path';
import { FsStorage } from './fs.ts';
import { RedisStorage } from './redis.ts';
import { isRedisUrl, parseRedisUrl } from './redis-url.ts';
import type { Storage } from './storage.ts';

export function openStorage(storage: string): Storage {
  return isRedisUrl(storage) ? new RedisStorage(parseRedisUrl(storage)) : new FsStorage(storage);
}

/** How the storage is named to people and to `edge certs`: an absolute folder, or the URL without its password. */
export function storageLabel(storage: string): string {
  return isRedisUrl(storage) ? parseRedisUrl(storage).display : resolve(storage);
}
