// The upstream address forms config accepts, https:// among them, and what each parses to.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseUpstream } from '../../src/config/address.ts';

const GOOD: [string, ReturnType<typeof parseUpstream>][] = [
  ['127.0.0.1:8000', { kind: 'tcp', host: '127.0.0.1', port: 8000, name: '127.0.0.1:8000' }],
  ['http://App:9000/', { kind: 'tcp', host: 'app', port: 9000, name: 'App:9000' }],
  ['http://app', { kind: 'tcp', host: 'app', port: 80, name: 'app:80' }],
  ['http://[::1]', { kind: 'tcp', host: '::1', port: 80, name: '[::1]:80' }],
  ['https://10.0.0.5:8443', { kind: 'tcp', host: '10.0.0.5', port: 8443, name: 'https://10.0.0.5:8443', tls: { verify: true } }],
  ['HTTPS://app.internal', { kind: 'tcp', host: 'app.internal', port: 443, name: 'https://app.internal:443', tls: { verify: true } }],
  ['https://[::1]:8443/', { kind: 'tcp', host: '::1', port: 8443, name: 'https://[::1]:8443', tls: { verify: true } }],
  ['unix:/run/app.sock', { kind: 'unix', path: '/run/app.sock', name: 'unix:/run/app.sock' }],
];

const BAD: [string, RegExp][] = [
  ['https://', /expected host:port, http:\/\/host:port, https:\/\/host:port or unix:\/path/],
  ['https://app:99999', /port out of range/],
  ['ftp://app:21', /expected host:port/],
  ['unix:run/app.sock', /must be absolute/],
];

describe('parseUpstream', () => {
  for (const [text, expected] of GOOD) it(`${text} parses`, () => assert.deepEqual(parseUpstream(text), expected));
  for (const [text, message] of BAD) it(`${text} is refused`, () => assert.match(parseUpstream(text) as string, message));
});
