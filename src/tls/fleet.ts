// Fleet mode: several edge instances sharing one Redis storage. This module owns what sharing
// adds beyond the storage itself: challenge material visible to every instance, propagation of
// new certificates (a pub/sub notice, a poll as the fallback for missed notices, a catch-up when
// Redis comes back), and one log line per outage and per recovery.

import type { Logger } from '../ops/log.ts';
import type { Challenges } from './challenges.ts';
import type { CertManager } from './manager.ts';
import type { RedisStorage } from './storage/redis.ts';

/** A notice can be missed (this instance was disconnected, Redis restarted): look anyway this often. */
export const POLL_MS = 30_000;

export class Fleet {
  private readonly storage: RedisStorage;
  private manager: CertManager | undefined;
  private readonly id = `${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  private readonly pollMs: number;
  private poll: NodeJS.Timeout | undefined;
  private downSince: number | undefined;

  constructor(storage: RedisStorage, challenges: Challenges, logger: Logger, opts: { pollMs?: number } = {}) {
    this.storage = storage;
    this.pollMs = opts.pollMs ?? POLL_MS;
    challenges.share(storage);
    storage.onStatus((status) => {
      if (!status.up) {
        this.downSince = Date.now();
        logger.warn(`storage ${storage.description} unreachable (${status.reason}): serving the certificates held in memory; retrying`);
      } else if (this.downSince !== undefined) {
        logger.info(`storage ${storage.description} reachable again after ${((Date.now() - this.downSince) / 1000).toFixed(1)} s; catching up`);
        this.downSince = undefined;
        void this.manager?.refreshFromStorage();
      }
    });
  }

  /** Starts propagation for `manager`'s certificates. */
  attach(manager: CertManager): void {
    this.manager = manager;
    this.storage.subscribe((message) => {
      const notice = parseNotice(message);
      if (notice && notice.from !== this.id) void manager.refreshFromStorage(notice.name);
    });
    this.poll = setInterval(() => void manager.refreshFromStorage(), this.pollMs).unref();
  }

  /** Tells the other instances that `name` has a new certificate in storage. */
  announce(name: string): void {
    // a lost notice is caught up by the poll
    this.storage.publish(JSON.stringify({ type: 'certificate', name, from: this.id })).catch(() => {});
  }

  stop(): void {
    clearInterval(this.poll);
  }
}

function parseNotice(message: string): { name: string; from: string } | undefined {
  try {
    const json = JSON.parse(message) as { type?: unknown; name?: unknown; from?: unknown };
    if (json.type === 'certificate' && typeof json.name === 'string' && typeof json.from === 'string') return { name: json.name, from: json.from };
  } catch {
    // not ours
  }
  return undefined;
}
