// Router: which site a Host header reaches and which route a path takes, one table for both.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { configSchema } from '../../src/config/schema.ts';
import { Router } from '../../src/server/router.ts';

const respond = (body: string) => ({ respond: { body } });

// through the real schema, so hosts are normalised the way a config file's are
const { sites } = configSchema.parse({
  sites: [
    {
      hosts: ['Example.COM', 'www.example.com.'],
      routes: [
        { match: '=/exact', ...respond('exact') },
        { match: '~^/items/[0-9]+$', ...respond('regex') },
        { match: '/api/', ...respond('api') },
        { match: '/api/v2/', ...respond('never: /api/ comes first') },
        { match: '/', ...respond('catch-all') },
      ],
    },
    { hosts: ['*.example.com'], tls: 'internal', routes: [{ ...respond('wildcard') }] },
    { hosts: ['api.example.com'], routes: [{ match: '/v1/', ...respond('api-v1') }] },
    { hosts: ['[::1]', '2001:DB8::1', '127.0.0.1', 'localhost'], routes: [{ match: '/', ...respond('local') }] },
    { hosts: ['*.wild.test'], routes: [{ match: '/', ...respond('wild') }] },
  ],
});

// the handler built per route is its body, so a lookup shows which route it found
const router = new Router(sites, (route) => route.respond!.body);

describe('Router: host then path', () => {
  // [Host header, path, expected site (its first host), expected handler]; undefined = no match
  const cases: [string | undefined, string, string | undefined, string | undefined][] = [
    // exact host, any case, port and a trailing dot ignored
    ['example.com', '/', 'example.com', 'catch-all'],
    ['EXAMPLE.com', '/', 'example.com', 'catch-all'],
    ['example.com:8080', '/', 'example.com', 'catch-all'],
    ['example.com.', '/', 'example.com', 'catch-all'],
    ['example.com.:80', '/', 'example.com', 'catch-all'],
    ['www.example.com', '/', 'example.com', 'catch-all'],
    ['WWW.EXAMPLE.COM:443', '/', 'example.com', 'catch-all'],
    // IP addresses and localhost
    ['[::1]:80', '/', '::1', 'local'],
    ['[::1]', '/', '::1', 'local'],
    ['[2001:db8::1]:443', '/', '::1', 'local'],
    ['127.0.0.1:8080', '/', '::1', 'local'],
    ['localhost', '/', '::1', 'local'],
    ['LocalHost:3000', '/', '::1', 'local'],
    // a wildcard matches exactly one label; an exact name beats it
    ['shop.example.com', '/', '*.example.com', 'wildcard'],
    ['SHOP.Example.com:80', '/anything', '*.example.com', 'wildcard'],
    ['api.example.com', '/v1/users', 'api.example.com', 'api-v1'],
    ['a.b.example.com', '/', undefined, undefined],
    ['x.wild.test', '/', '*.wild.test', 'wild'],
    ['wild.test', '/', undefined, undefined],
    ['.wild.test', '/', undefined, undefined],
    ['xwild.test', '/', undefined, undefined],
    // unknown or missing Host
    ['unknown.test', '/', undefined, undefined],
    ['example.org', '/', undefined, undefined],
    ['example.com.evil.test', '/', undefined, undefined],
    [undefined, '/', undefined, undefined],
    ['', '/', undefined, undefined],
    // =exact matches that path only
    ['example.com', '/exact', 'example.com', 'exact'],
    ['example.com', '/exact/', 'example.com', 'catch-all'],
    ['example.com', '/exactly', 'example.com', 'catch-all'],
    // ~regex
    ['example.com', '/items/42', 'example.com', 'regex'],
    ['example.com', '/items/42/edit', 'example.com', 'catch-all'],
    ['example.com', '/items/abc', 'example.com', 'catch-all'],
    // prefix; the first match wins, so /api/v2/ is shadowed by /api/
    ['example.com', '/api/', 'example.com', 'api'],
    ['example.com', '/api/users', 'example.com', 'api'],
    ['example.com', '/api/v2/users', 'example.com', 'api'],
    ['example.com', '/api', 'example.com', 'catch-all'],
    ['example.com', '/apiary', 'example.com', 'catch-all'],
    // "/" catches all
    ['example.com', '/other/deep/path', 'example.com', 'catch-all'],
    // no route takes the path
    ['api.example.com', '/v2/users', 'api.example.com', undefined],
    ['api.example.com', '/', 'api.example.com', undefined],
  ];
  for (const [host, path, site, handler] of cases) {
    it(`Host ${JSON.stringify(host)} ${path} → ${site ?? 'no site'}${site ? ` / ${handler ?? 'no route'}` : ''}`, () => {
      const found = router.site(host);
      assert.equal(found?.name, site);
      if (found) assert.equal(Router.route(found, path)?.handler, handler);
    });
  }
});
