// The route's gate (entry of src/access): allow/deny, then basic_auth, before the action it wraps
// sees the request, for plain requests and upgrades alike. Built only for routes with `access`,
// so other routes pay nothing.

import type { Duplex } from 'node:stream';
import type { AccessConfig } from '../config/access-schema.ts';
import { requestClient } from '../http/client-address.ts';
import type { Action } from '../server/actions.ts';
import type { EdgeRequest, EdgeRes } from '../server/response.ts';
import { answerRaw, sendStatus } from '../server/status.ts';
import { BasicAuth, type AuthOutcome } from './basic-auth.ts';
import { AddressRules } from './rules.ts';

const BUSY = { 'retry-after': '1' };

export class AccessAction implements Action {
  private readonly inner: Action;
  private readonly rules: AddressRules | undefined;
  private readonly auth: BasicAuth | undefined;
  private readonly challenge: Record<string, string> | undefined;

  constructor(inner: Action, config: AccessConfig) {
    this.inner = inner;
    this.rules = config.allow || config.deny ? new AddressRules(config.allow, config.deny) : undefined;
    this.auth = config.basic_auth && new BasicAuth(config.basic_auth);
    this.challenge = this.auth && { 'www-authenticate': this.auth.challenge };
    if (inner.upgrade) this.upgrade = this.gateUpgrade;
  }

  handle(req: EdgeRequest, res: EdgeRes): void {
    if (this.rules && !this.rules.allowed(res.client)) {
      sendStatus(res, 403);
      return;
    }
    if (!this.auth) {
      this.inner.handle(req, res);
      return;
    }
    const outcome = this.auth.check(req.headers);
    if (outcome instanceof Promise) {
      void outcome.then((settled) => {
        if (!res.destroyed) this.authorised(settled, req, res);
      });
    } else {
      this.authorised(outcome, req, res);
    }
  }

  upgrade?: Action['upgrade'];

  describe(): string {
    const parts = [this.rules && 'allow/deny', this.auth && 'basic_auth'].filter(Boolean);
    return `${this.inner.describe()} (${parts.join(', ')})`;
  }

  private authorised(outcome: AuthOutcome, req: EdgeRequest, res: EdgeRes): void {
    if (outcome === true) {
      if (!this.auth!.forward) delete req.headers.authorization;
      this.inner.handle(req, res);
    } else if (outcome === false) {
      sendStatus(res, 401, { headers: this.challenge });
    } else {
      sendStatus(res, 503, { headers: BUSY });
    }
  }

  private readonly gateUpgrade = (req: EdgeRequest, socket: Duplex, head: Buffer, done: (status: number, upstream: string) => void): void => {
    const refuse = (status: number, headers?: Record<string, string>): void => {
      answerRaw(socket, status, headers);
      done(status, '');
    };
    if (this.rules && !this.rules.allowed(requestClient(req))) {
      refuse(403);
      return;
    }
    if (!this.auth) {
      this.inner.upgrade!(req, socket, head, done);
      return;
    }
    const go = (outcome: AuthOutcome): void => {
      if (outcome === true) {
        if (!this.auth!.forward) delete req.headers.authorization;
        this.inner.upgrade!(req, socket, head, done);
      } else if (outcome === false) {
        refuse(401, this.challenge);
      } else {
        refuse(503, BUSY);
      }
    };
    const outcome = this.auth.check(req.headers);
    if (outcome instanceof Promise) void outcome.then((settled) => (socket.destroyed ? done(499, '') : go(settled)));
    else go(outcome);
  };
}
