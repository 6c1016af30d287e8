// Value types shared by the config schema: sizes, durations, ports, upstream addresses, host
// names. Each parses text a person wrote into the typed value the program uses.

import * as z from 'zod';
import { parseDuration, parseSize } from './units.ts';
import { normaliseSiteHost, parseUpstream } from './address.ts';

const SIZE_HINT = 'use e.g. 512KiB, 10MB, 1GiB';
const DURATION_HINT = 'use e.g. 500ms, 5s, 2m, 1h, or off';

export const sizeValue = z
    .union([z.int(), z.string()], { error: `expected a size (${SIZE_HINT})` })
    .transform((value, ctx) => {
      const bytes = parseSize(value);
      if (bytes === undefined) {
        ctx.addIssue({ code: 'custom', message: `bad size ${JSON.stringify(value)} (${SIZE_HINT})` });
        return z.NEVER;
      }
      return bytes;
    });

export function size(description: string, fallback: string) {
  return sizeValue.prefault(fallback).describe(`${description} Default ${fallback}.`);
}

export const durationValue = z
    .union([z.number(), z.string()], { error: `expected a duration (${DURATION_HINT})` })
    .transform((value, ctx) => {
      const ms = parseDuration(value);
      if (ms === undefined) {
        const bare = typeof value === 'number' ? ` (a bare number is ambiguous: write ${value}s)` : ` (${DURATION_HINT})`;
        ctx.addIssue({ code: 'custom', message: `bad duration ${JSON.stringify(value)}${bare}` });
        return z.NEVER;
      }
      return ms;
    });

export function duration(description: string, fallback: string) {
  return durationValue.prefault(fallback).describe(`${description} Default ${fallback}.`);
}

export const port = (description: string, fallback: number) =>
  z.int({ error: 'expected a port number (1-65535)' }).min(1, 'port must be 1-65535').max(65535, 'port must be 1-65535')
    .default(fallback).describe(`${description} Default ${fallback}.`);

export const upstream = z.string({ error: 'expected an upstream address (host:port, http://host:port, https://host:port or unix:/path)' })
  .transform((text, ctx) => {
    const parsed = parseUpstream(text);
    if (typeof parsed === 'string') {
      // not fatal, so the union in proxy.to reports this message rather than its own "Invalid input"
      ctx.addIssue({ code: 'custom', message: parsed, continue: true });
      return z.NEVER;
    }
    return parsed;
  });

export const siteHost = z.string({ error: 'expected a host name' }).transform((text, ctx) => {
  const result = normaliseSiteHost(text);
  if ('error' in result) {
    ctx.addIssue({ code: 'custom', message: result.error });
    return z.NEVER;
  }
  return result.host;
});
