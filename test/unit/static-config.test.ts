// The static: and compress: keys of a route: defaults, accepted forms, and the static + proxy pair.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfigFile } from '../../src/config/load.ts';
import { writeConfig } from '../helpers/config.ts';

function route(yaml: string) {
  const { file } = writeConfig(`sites:\n  - hosts: [a.example]\n    routes:\n${yaml}`);
  return loadConfigFile(file).config.sites[0]!.routes[0]!;
}

describe('static: on a route', () => {
  it('fills in every default', () => {
    assert.deepEqual(route('      - static: { root: /srv/www }\n').static, {
      root: '/srv/www',
      index: ['index.html'],
      try_files: ['$uri', '$uri/'],
      hide: ['.*'],
      headers: {},
      precompressed: true,
      follow_symlinks: false,
    });
  });

  it('takes single values for index and hide, and lists', () => {
    const s = route('      - static: { root: www, index: default.htm, hide: "*.bak" }\n').static!;
    assert.deepEqual(s.index, ['default.htm']);
    assert.deepEqual(s.hide, ['*.bak']);
    assert.deepEqual(route('      - static: { root: www, index: [], hide: [] }\n').static!.hide, []);
  });

  it('a single-page app: every unknown path gets /index.html', () => {
    const s = route('      - static: { root: dist, try_files: [$uri, /index.html] }\n').static!;
    assert.deepEqual(s.try_files, ['$uri', '/index.html']);
  });

  it('files first, then the app: @proxy with a proxy on the same route', () => {
    const r = route('      - static: { root: public, try_files: [$uri, $uri/, "@proxy"] }\n        proxy: { to: 127.0.0.1:8000 }\n');
    assert.deepEqual(r.static!.try_files, ['$uri', '$uri/', '@proxy']);
    assert.equal(r.proxy!.to![0]!.address.name, '127.0.0.1:8000');
  });

  it('a status as the last entry', () => {
    assert.deepEqual(route('      - static: { root: www, try_files: [$uri, $uri.html, "=410"] }\n').static!.try_files, ['$uri', '$uri.html', '=410']);
  });
});

describe('compress: on a route', () => {
  it('is off unless set', () => {
    assert.equal(route('      - respond: {}\n').compress, undefined);
  });
  it('true means zstd, br, gzip', () => {
    assert.deepEqual(route('      - respond: {}\n        compress: true\n').compress, ['zstd', 'br', 'gzip']);
  });
  it('false means none', () => {
    assert.deepEqual(route('      - respond: {}\n        compress: false\n').compress, []);
  });
  it('a list keeps its order', () => {
    assert.deepEqual(route('      - respond: {}\n        compress: [gzip, br]\n').compress, ['gzip', 'br']);
  });
});
