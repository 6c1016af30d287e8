// The policy for a pool's `balance` setting. Adding a policy: its file, and one case here.

import type { Balance } from '../../config/upstream-schema.ts';
import { First } from './first.ts';
import { clientKey, cookieKey, headerKey, RendezvousHash } from './hash.ts';
import { LeastConn } from './least-conn.ts';
import { PowerOfTwo } from './p2c.ts';
import type { Policy, Random } from './policy.ts';
import { RandomPick } from './random.ts';
import { RoundRobin } from './round-robin.ts';

export function createPolicy(balance: Balance, random: Random = Math.random): Policy {
  switch (balance.policy) {
    case 'round_robin': return new RoundRobin();
    case 'least_conn': return new LeastConn();
    case 'random': return new RandomPick(random);
    case 'p2c': return new PowerOfTwo(random);
    case 'first': return new First();
    case 'ip_hash': return new RendezvousHash(clientKey, random);
    case 'header': return new RendezvousHash(headerKey(balance.name), random);
    case 'cookie': return new RendezvousHash(cookieKey(balance.name), random);
  }
}
