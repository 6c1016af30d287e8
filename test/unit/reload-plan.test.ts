// What a reload applies in place and what needs a restart.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { configSchema } from '../../src/config/schema.ts';
import { restartNeeded } from '../../src/config/reload-plan.ts';

const config = (extra: object = {}) => configSchema.parse({ sites: [{ hosts: ['a.example'], tls: 'off', routes: [{ respond: { body: 'x' } }] }], ...extra });
const same = { tls: [false, false] as [boolean, boolean], acme: [false, false] as [boolean, boolean] };

describe('restartNeeded', () => {
  it('nothing for sites, routes, body limits and grace_period', () => {
    const next = configSchema.parse({
      grace_period: '5s',
      limits: { max_body_size: '1MiB', body_timeout: '10s' },
      sites: [{ hosts: ['b.example'], tls: 'off', routes: [{ match: '/x/', respond: { body: 'y' } }] }],
    });
    assert.deepEqual(restartNeeded(config(), next, same), []);
  });

  it('one line per setting bound to sockets, logs or the ACME account', () => {
    const next = config({ http_port: 8080, bind: '127.0.0.1', admin: 'off', log: { access: 'off' }, acme: { email: 'a@b.example' }, limits: { keepalive_timeout: '5s' } });
    assert.deepEqual(restartNeeded(config(), next, same).map((l) => l.split(' ')[0]), ['http_port', 'bind', 'admin', 'log', 'acme', 'limits.keepalive_timeout']);
    assert.equal(restartNeeded(config(), config({ http_port: 8080 }), same)[0], 'http_port changed (80 → 8080): restart edge to apply it');
  });

  it('a changed acme.dns needs a restart, and the line never shows the TSIG secret', () => {
    const dns = (secret: string) => config({ acme: { dns: { provider: 'rfc2136', server: '10.0.0.53', zone: 'example.com', key_name: 'edge', key_secret: secret } } });
    const before = Buffer.alloc(32, 1).toString('base64');
    const after = Buffer.alloc(32, 2).toString('base64');
    const lines = restartNeeded(dns(before), dns(after), same);
    assert.equal(lines.length, 1);
    assert.match(lines[0]!, /^acme\.dns changed \(.*\): restart edge to apply it$/);
    assert.ok(!lines[0]!.includes(before.slice(0, 12)) && !lines[0]!.includes(after.slice(0, 12)), lines[0]);
    assert.deepEqual(restartNeeded(dns(before), dns(before), same), []);
  });

  it('the first TLS site, or the first ACME one, needs a listener or an account edge did not start with', () => {
    assert.match(restartNeeded(config(), config(), { tls: [false, true], acme: [false, true] })[0]!, /HTTPS listener/);
    assert.match(restartNeeded(config(), config(), { tls: [true, true], acme: [false, true] })[0]!, /ACME account/);
    assert.deepEqual(restartNeeded(config(), config(), { tls: [true, false], acme: [true, false] }), []);
  });
});

describe('restartNeeded compares with what is bound, not with the last file', () => {
  it('a second reload that puts https_port back asks for no restart (edge still listens on the first port)', () => {
    const started = config({ https_port: 37443 });
    const changed = config({ https_port: 37444 });
    assert.deepEqual(restartNeeded(started, changed, same), ['https_port changed (37443 → 37444): restart edge to apply it']);
    const reverted = config({ https_port: 37443 });
    assert.deepEqual(restartNeeded(changed, reverted, same), []);
  });

  it('a setting changed twice is reported against the started value, each time', () => {
    const started = config({ http_port: 8080 });
    const once = config({ http_port: 8081 });
    restartNeeded(started, once, same);
    assert.deepEqual(restartNeeded(once, config({ http_port: 8082 }), same), ['http_port changed (8080 → 8082): restart edge to apply it']);
  });

  it('a TLS site added by an earlier reload still needs the HTTPS listener edge did not start with', () => {
    const started = config();
    const withTls = config();
    assert.match(restartNeeded(started, withTls, { tls: [false, true], acme: [false, false] })[0]!, /HTTPS listener/);
    assert.match(restartNeeded(withTls, config(), { tls: [true, true], acme: [false, false] })[0]!, /HTTPS listener/);
  });
});
