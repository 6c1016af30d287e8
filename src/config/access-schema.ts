// Who may reach what: the top-level `trusted_proxies` (whose X-Forwarded-For edge believes) and a
// route's `access`, `rate_limit` and `conn_limit`. Addresses and ranges are checked here, so a bad
// one is a config error with its line and column; the request path parses them once per config.

import * as z from 'zod';
import { parseRange } from '../http/address-ranges.ts';

const addressRange = z.string({ error: 'expected an IP address or CIDR range' }).superRefine((text, ctx) => {
  const range = parseRange(text);
  if (typeof range === 'string') ctx.addIssue({ code: 'custom', message: range });
});

export const trustedProxiesSchema = z.array(addressRange, { error: 'expected a list of IP addresses and CIDR ranges' })
  .default([])
  .describe('Proxies and load balancers in front of edge (IPs and CIDR ranges, IPv4 and IPv6). For a connection from one of them, the client is the right-most address of X-Forwarded-For that is not itself trusted (nginx: set_real_ip_from with real_ip_recursive on); that address is what the access log, X-Forwarded-For, X-Real-IP, ip_hash, access rules and rate limits see. From anyone else the header is not believed. Default []: nothing a client sends changes its address.');
