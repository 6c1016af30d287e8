// HTTP Basic authentication (RFC 7617) for a route: the Authorization header parsed, the user's
// bcrypt hash checked through the shared verifier. An unknown user is checked against a listed
// user's hash and refused whatever the outcome, so it costs what a wrong password costs.

import type { IncomingHttpHeaders } from 'node:http';
import type { BasicAuthConfig } from '../config/access-schema.ts';
import { verifier } from './verifier.ts';

/** true: let in; false: 401; undefined: too busy to check (503). */
export type AuthOutcome = boolean | undefined;

export class BasicAuth {
  readonly challenge: string;
  readonly forward: boolean;
  private readonly users: Map<string, string>;
  private readonly decoy: string;

  constructor(config: BasicAuthConfig) {
    this.users = new Map(Object.entries(config.users));
    this.decoy = this.users.values().next().value!;
    this.challenge = `Basic realm="${config.realm}", charset="UTF-8"`;
    this.forward = config.forward_auth;
  }

  check(headers: IncomingHttpHeaders): AuthOutcome | Promise<AuthOutcome> {
    const credentials = parseBasic(headers.authorization);
    if (credentials === undefined) return false;
    const hash = this.users.get(credentials.user);
    const result = verifier.verify(credentials.user, credentials.password, hash ?? this.decoy);
    if (hash !== undefined) return result;
    if (result instanceof Promise) return result.then(() => false);
    return result === undefined ? undefined : false;
  }
}

/** `Basic base64(user:password)` → its parts; undefined for anything else. */
export function parseBasic(header: string | undefined): { user: string; password: string } | undefined {
  if (header === undefined || header.length < 7 || header.slice(0, 6).toLowerCase() !== 'basic ') return undefined;
  const decoded = Buffer.from(header.slice(6).trim(), 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon <= 0) return undefined;
  return { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}
