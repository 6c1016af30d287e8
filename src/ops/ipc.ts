// The messages between the supervisor and its workers, and request/reply over a process channel.
// Everything sent is plain JSON: the config object, certificates and challenge answers as PEM
// text, metric families, admin answers.

import type { Config } from '../config/schema.ts';
import type { AdminAnswer } from './admin.ts';
import type { MetricFamily } from './metrics.ts';

/** Told to a worker; no answer expected. */
export type ToWorker =
  | { t: 'start'; config: Config }
  | { t: 'cert'; names: string[]; certPem: string; keyPem: string; ip: boolean }
  | { t: 'uncert'; names: string[] }
  | { t: 'http01'; token: string; keyAuthorization?: string }
  | { t: 'alpn'; name: string; cert?: { certPem: string; keyPem: string } }
  | { t: 'reopen' }
  | { t: 'stop' };

/** Asked of a worker; it answers with a reply carrying the same id. */
export type WorkerQuestion =
  | { q: 'config'; config: Config }
  | { q: 'metrics' }
  | { q: 'admin'; method: string; path: string; query: string };

/** Told to the supervisor by a worker. */
export type ToSupervisor =
  | { t: 'ready'; listening: string[]; sites: string[]; routes: AdminRouteKey[] }
  | { t: 'failed'; message: string };

/** Asked of the supervisor by a worker. */
export type SupervisorQuestion = { q: 'on-demand'; name: string };

export interface AdminRouteKey {
  method: 'GET' | 'POST';
  path: string;
}

export type Answer<Q> = Q extends { q: 'metrics' } ? MetricFamily[]
  : Q extends { q: 'admin' } ? AdminAnswer
  : Q extends { q: 'config' } ? AdminRouteKey[]
  : Q extends { q: 'on-demand' } ? { error?: string }
  : never;

interface Envelope {
  edge: 'ask' | 'reply';
  id: number;
  body?: unknown;
  error?: string;
}

/**
 * A process channel (a cluster Worker, or `process` in a worker). Sends pass a callback: without
 * one, a send on a closed channel is an 'error' event on the process object, which with no
 * listener stops the process (a question asked just as the other side died).
 */
type Channel = { send(message: unknown, callback: (err: Error | null) => void): boolean };

/** Questions one way over a channel, each settled by its reply, or rejected after `timeoutMs` or when the channel closes. */
export class Rpc {
  private next = 0;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }>();
  private readonly channel: Channel;

  constructor(channel: Channel) {
    this.channel = channel;
  }

  ask<Q extends WorkerQuestion | SupervisorQuestion>(question: Q, timeoutMs: number): Promise<Answer<Q>> {
    const id = this.next++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`no answer to ${question.q} in ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject, timer });
      const failed = (err: Error) => {
        clearTimeout(timer);
        this.pending.delete(id);
        reject(err);
      };
      try {
        this.channel.send({ edge: 'ask', id, body: question } satisfies Envelope, (err) => err && failed(err));
      } catch (err) {
        failed(err as Error);
      }
    });
  }

  /**
   * Feeds a message that arrived on the channel: settles a reply, or answers a question with
   * `answer`. Returns false for other messages.
   */
  receive(message: unknown, answer?: (question: never) => Promise<unknown>): boolean {
    const m = message as Envelope;
    if (m === null || typeof m !== 'object' || (m.edge !== 'ask' && m.edge !== 'reply')) return false;
    if (m.edge === 'reply') {
      const waiting = this.pending.get(m.id);
      if (waiting) {
        this.pending.delete(m.id);
        clearTimeout(waiting.timer);
        if (m.error !== undefined) waiting.reject(new Error(m.error));
        else waiting.resolve(m.body);
      }
      return true;
    }
    if (!answer) return true;
    answer(m.body as never).then(
      (body) => this.reply({ edge: 'reply', id: m.id, body }),
      (err: Error) => this.reply({ edge: 'reply', id: m.id, error: err.message }),
    );
    return true;
  }

  /** The channel closed: nothing pending will be answered. */
  close(): void {
    for (const [id, waiting] of this.pending) {
      clearTimeout(waiting.timer);
      waiting.reject(new Error('the process went away'));
      this.pending.delete(id);
    }
  }

  private reply(envelope: Envelope): void {
    try {
      this.channel.send(envelope, ignoreSendError);
    } catch {
      // the asker went away; nobody is waiting for this answer
    }
  }
}

/** For sends whose failure needs no answer: the other side is gone, and its going is handled where it is noticed. */
export function ignoreSendError(): void {}
