// Header rules at the proxy boundary: prepareRequestHeaders (client → upstream) and responseHeaders (upstream → client).

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import { prepareRequestHeaders, responseHeaders } from '../../src/proxy/headers.ts';

/** The headers as the upstream would get them; `headers` uses lower-case names, as Node gives them. */
function prepared(headers: IncomingHttpHeaders, opts: { tls?: boolean; websocket?: boolean } = {}): IncomingHttpHeaders {
  const req = { headers: { ...headers }, socket: { remoteAddress: '10.0.0.1', encrypted: opts.tls } } as unknown as IncomingMessage;
  prepareRequestHeaders(req, opts.websocket ?? false);
  return req.headers;
}

const FORWARDED = { 'x-forwarded-for': '10.0.0.1', 'x-real-ip': '10.0.0.1', 'x-forwarded-proto': 'http' };

describe('prepareRequestHeaders', () => {
  it('keeps end-to-end headers and adds the X-Forwarded set', () => {
    assert.deepEqual(prepared({ host: 'a.example', accept: '*/*', 'user-agent': 'test', cookie: 'a=1' }), {
      host: 'a.example', accept: '*/*', 'user-agent': 'test', cookie: 'a=1',
      ...FORWARDED, 'x-forwarded-host': 'a.example',
    });
  });

  it('removes every hop-by-hop header', () => {
    const h = prepared({
      host: 'a.example',
      connection: 'keep-alive',
      'keep-alive': 'timeout=5',
      'proxy-connection': 'keep-alive',
      'proxy-authorization': 'Basic eDp5',
      'proxy-authenticate': 'Basic',
      te: 'trailers',
      trailer: 'x-checksum',
      upgrade: 'h2c',
      accept: '*/*',
    });
    assert.deepEqual(h, { host: 'a.example', accept: '*/*', ...FORWARDED, 'x-forwarded-host': 'a.example' });
  });

  it('removes the headers the Connection header names, in any case, but never Host', () => {
    const h = prepared({
      host: 'a.example',
      connection: 'close, X-Secret ,x-other,, Host',
      'x-secret': 's',
      'x-other': 'o',
      'x-kept': 'k',
    });
    assert.equal(h['x-secret'], undefined);
    assert.equal(h['x-other'], undefined);
    assert.equal(h.connection, undefined);
    assert.equal(h.host, 'a.example');
    assert.equal(h['x-kept'], 'k');
  });

  it('drops Transfer-Encoding: the upstream client frames the body itself (undici sends one of unknown length chunked)', () => {
    const h = prepared({ host: 'a.example', 'transfer-encoding': 'chunked', connection: 'keep-alive' });
    assert.equal('transfer-encoding' in h, false);
    assert.equal(h.connection, undefined);
  });

  it('has no Transfer-Encoding when the client sent none', () => {
    assert.equal('transfer-encoding' in prepared({ host: 'a.example', 'content-length': '3' }), false);
  });

  it('keeps Upgrade and Connection for a WebSocket when websocket is on', () => {
    const h = prepared({ host: 'a.example', connection: 'keep-alive, Upgrade', upgrade: 'websocket', 'sec-websocket-key': 'k' }, { websocket: true });
    assert.equal(h.connection, 'upgrade');
    assert.equal(h.upgrade, 'websocket');
    assert.equal(h['sec-websocket-key'], 'k');
  });

  it('drops Upgrade and Connection when websocket is off', () => {
    const h = prepared({ host: 'a.example', connection: 'Upgrade', upgrade: 'websocket' }, { websocket: false });
    assert.equal(h.connection, undefined);
    assert.equal(h.upgrade, undefined);
  });

  it('does not invent an upgrade when websocket is on but the client asked for none', () => {
    const h = prepared({ host: 'a.example', connection: 'keep-alive' }, { websocket: true });
    assert.equal(h.connection, undefined);
    assert.equal(h.upgrade, undefined);
  });

  it('appends the client to an existing X-Forwarded-For', () => {
    assert.equal(prepared({ 'x-forwarded-for': '203.0.113.7' })['x-forwarded-for'], '203.0.113.7, 10.0.0.1');
    assert.equal(prepared({ 'x-forwarded-for': '203.0.113.7, 198.51.100.2' })['x-forwarded-for'], '203.0.113.7, 198.51.100.2, 10.0.0.1');
    assert.equal(prepared({})['x-forwarded-for'], '10.0.0.1');
  });

  it('overwrites X-Real-IP, X-Forwarded-Proto and X-Forwarded-Host a client sent', () => {
    const h = prepared({ host: 'a.example', 'x-real-ip': '1.2.3.4', 'x-forwarded-proto': 'https', 'x-forwarded-host': 'evil.test' }, { tls: false });
    assert.equal(h['x-real-ip'], '10.0.0.1');
    assert.equal(h['x-forwarded-proto'], 'http');
    assert.equal(h['x-forwarded-host'], 'a.example');
  });

  it('sets X-Forwarded-Proto from the listener', () => {
    assert.equal(prepared({ host: 'a.example' }, { tls: true })['x-forwarded-proto'], 'https');
  });

  it('removes Expect, which edge answered itself', () => {
    assert.equal('expect' in prepared({ host: 'a.example', expect: '100-continue' }), false);
  });
});

describe('responseHeaders', () => {
  it('keeps names as written, repeats in order, and drops hop-by-hop headers', () => {
    const raw = [
      'Content-Type', 'text/plain',
      'Connection', 'keep-alive',
      'Keep-Alive', 'timeout=5',
      'Set-Cookie', 'a=1; Path=/',
      'Transfer-Encoding', 'chunked',
      'X-Mixed-CASE', 'v',
      'Set-Cookie', 'b=2; HttpOnly',
      'Trailer', 'x-checksum',
      'Proxy-Authenticate', 'Basic',
      'Proxy-Connection', 'close',
      'TE', 'trailers',
      'Upgrade', 'h2c',
      'set-cookie', 'c=3',
    ];
    assert.deepEqual(responseHeaders(raw), [
      'Content-Type', 'text/plain',
      'Set-Cookie', 'a=1; Path=/',
      'X-Mixed-CASE', 'v',
      'Set-Cookie', 'b=2; HttpOnly',
      'set-cookie', 'c=3',
    ]);
  });

  it('drops the headers any Connection header names, wherever it appears', () => {
    const raw = ['X-Internal', 'secret', 'Server', 'app', 'connection', 'close, X-Internal', 'X-Debug', 'd', 'CONNECTION', 'x-debug'];
    assert.deepEqual(responseHeaders(raw), ['Server', 'app']);
  });

  it('does not treat Connection options (close, keep-alive, upgrade) as header names', () => {
    assert.deepEqual(responseHeaders(['Connection', 'close', 'Content-Length', '0']), ['Content-Length', '0']);
  });

  it('returns an empty list for no headers', () => {
    assert.deepEqual(responseHeaders([]), []);
  });
});
