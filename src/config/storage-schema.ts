// The `storage:` key: a folder, or a Redis URL shared by a fleet of instances (checked here, so a
// bad URL is a config error with its line and column, not a failure at start).

import * as z from 'zod';
import { isRedisUrl, parseRedisUrl } from '../tls/storage/redis-url.ts';

export const storageSchema = z.string().default('./certs')
  .superRefine((value, ctx) => {
    if (!isRedisUrl(value)) return;
    try {
      parseRedisUrl(value);
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: (err as Error).message });
    }
  })
  .describe('Where certificates, keys, the ACME account and pending challenges are kept: a folder (relative to the working directory), or redis://[user:password@]host:port/db (rediss:// for TLS, with ?ca=FILE; redis+unix:///path.sock?db=N) shared by a fleet of edge instances; ?prefix=NAME: separates fleets sharing one Redis. Default ./certs.');
