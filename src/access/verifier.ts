// bcrypt checks for basic_auth, off the main thread and remembered: one worker thread per process
// checks one password at a time, a bounded queue waits for it, and each answer (right or wrong) is
// cached under an HMAC of user, password and hash, so a repeated guess costs nothing and a flood
// of new ones costs one core at most while cached users go straight through.

import { createHmac, randomBytes } from 'node:crypto';
import { Worker } from 'node:worker_threads';
import { LRUCache } from 'lru-cache';

/** Verifications waiting for the thread past which a request gets 503 instead of a place in line. */
const MAX_QUEUE = 64;

const WORKER = new URL(import.meta.url.endsWith('.ts') ? './bcrypt-worker.ts' : './bcrypt-worker.js', import.meta.url);

export class Verifier {
  private worker: Worker | undefined;
  private readonly waiting = new Map<number, (ok: boolean) => void>();
  private nextId = 0;
  /** Keyed by an HMAC with a key of this process only: no password is kept, even hashed alone. */
  private readonly key = randomBytes(32);
  private readonly answers = new LRUCache<string, boolean>({ max: 10_000, ttl: 10 * 60_000 });

  /** True or false at once when known; a promise once checked; undefined when too busy to check. */
  verify(user: string, password: string, hash: string): boolean | Promise<boolean> | undefined {
    const id = createHmac('sha256', this.key).update(user).update('\0').update(password).update('\0').update(hash).digest('base64');
    const known = this.answers.get(id);
    if (known !== undefined) return known;
    if (this.waiting.size >= MAX_QUEUE) return undefined;
    return this.check(password, hash).then((ok) => {
      this.answers.set(id, ok);
      return ok;
    });
  }

  private check(password: string, hash: string): Promise<boolean> {
    const worker = this.thread();
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.waiting.set(id, resolve);
      worker.postMessage({ id, password, hash });
    });
  }

  private thread(): Worker {
    if (this.worker) return this.worker;
    const worker = new Worker(WORKER);
    // an idle thread does not keep edge running
    worker.unref();
    worker.on('message', (m: { id: number; ok: boolean }) => {
      const resolve = this.waiting.get(m.id);
      this.waiting.delete(m.id);
      resolve?.(m.ok);
    });
    const lost = (): void => {
      if (this.worker !== worker) return;
      this.worker = undefined;
      // whoever waited is refused (401); the next check starts a new thread
      for (const resolve of this.waiting.values()) resolve(false);
      this.waiting.clear();
    };
    worker.on('error', lost);
    worker.on('exit', lost);
    this.worker = worker;
    return worker;
  }
}

/** One per process: every basic_auth route of every config generation shares the thread and cache. */
export const verifier = new Verifier();
