// allow/deny as a pure decision: is this client address let in? Entries are sorted once, most
// specific first (deny before allow on a tie), so the first match is nginx's first match for a
// list written specific-first, whichever of the two lists an entry came from.

import { inRange, parseAddress, parseRange, type AddressRange } from '../http/address-ranges.ts';

interface Rule {
  allow: boolean;
  /** undefined: all. */
  range: AddressRange | undefined;
  bits: number;
}

export class AddressRules {
  private readonly rules: Rule[];
  /** Whom no entry matches: refused when there is an allow list. */
  private readonly fallback: boolean;

  /** Entries have passed the config schema: addresses, CIDR ranges or all. */
  constructor(allow: readonly string[] = [], deny: readonly string[] = []) {
    const rule = (text: string, isAllow: boolean): Rule => {
      const range = text === 'all' ? undefined : (parseRange(text) as AddressRange);
      return { allow: isAllow, range, bits: range?.bits ?? -1 };
    };
    this.rules = [...deny.map((t) => rule(t, false)), ...allow.map((t) => rule(t, true))];
    // stable sort: deny (listed first) stays ahead of allow at the same length
    this.rules.sort((a, b) => b.bits - a.bits);
    this.fallback = allow.length === 0;
  }

  allowed(client: string): boolean {
    const address = parseAddress(client);
    for (const rule of this.rules) {
      if (rule.range === undefined) return rule.allow;
      if (address !== undefined && inRange(address, rule.range)) return rule.allow;
    }
    return this.fallback;
  }
}
