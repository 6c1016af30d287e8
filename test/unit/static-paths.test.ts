// From a request target to a file under a static root: route paths, hidden names, joining under
// the root, try_files expansion.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { compileHide, expandTry, insideReal, isHidden, routePath, routePrefix, StaticPathError, underRoot } from '../../src/static/paths.ts';

describe('routePath', () => {
  const good: [string, string | undefined, string][] = [
    ['/', undefined, '/'],
    ['/a/b.css', undefined, '/a/b.css'],
    ['/a/b.css?v=3', undefined, '/a/b.css'],
    ['/a%20b.txt', undefined, '/a b.txt'],
    ['/static/app.css', '/static/', '/app.css'],
    ['/static/', '/static/', '/'],
    ['/static/css/a.css', '/static/', '/css/a.css'],
    ['/static', '/static', '/'],
    ['/staticx/a', '/static', '/x/a'],
    ['/other/a', '/static/', '/other/a'],
    ['/static/x/../app.css', '/static/', '/app.css'],
    ['/static//app.css', '/static/', '/app.css'],
    ['/%73tatic/app.css', '/static/', '/app.css'],
    ['/static/%252e%252e/x', '/static/', '/%2e%2e/x'],
    ['/a/', '/', '/a/'],
  ];
  for (const [target, prefix, expected] of good) {
    it(`${target} under ${prefix ?? '(whole path)'} → ${expected}`, () => assert.equal(routePath(target, prefix), expected));
  }

  const bad: string[] = ['/../x', '/a/../../x', '/%2e%2e/x', '/..%2fx', '/a%00b', '/a\\b', '/..%5cx', '/%c0%ae%c0%ae/x', '/%', '/%zz', 'x'];
  for (const target of bad) {
    it(`${JSON.stringify(target)} is refused with 400`, () => {
      assert.throws(() => routePath(target, undefined), (err: unknown) => err instanceof StaticPathError && err.status === 400);
    });
  }
});

describe('routePrefix', () => {
  it('a /prefix/ is taken off', () => assert.equal(routePrefix('/static/'), '/static/'));
  it('=exact keeps the whole path', () => assert.equal(routePrefix('=/favicon.ico'), undefined));
  it('~regex keeps the whole path', () => assert.equal(routePrefix('~\\.css$'), undefined));
});

describe('isHidden', () => {
  const dot = compileHide(['.*']);
  const several = compileHide(['.*', '*.bak', 'secret', 'tmp?']);
  const cases: [RegExp | undefined, string, boolean][] = [
    [dot, '/index.html', false],
    [dot, '/.env', true],
    [dot, '/.git/config', true],
    [dot, '/a/.hidden/b', true],
    [dot, '/a/b/.htaccess', true],
    [dot, '/a.b/c', false],
    [dot, '/a/', false],
    [dot, '/', false],
    [dot, '/.well-known/security.txt', true],
    [several, '/x.bak', true],
    [several, '/x.bak.txt', false],
    [several, '/secret', true],
    [several, '/secret/x', true],
    [several, '/secrets', false],
    [several, '/tmp1/a', true],
    [several, '/tmp12/a', false],
    [compileHide(['a.c']), '/abc', false],
    [compileHide(['(x)']), '/(x)', true],
    [compileHide([]), '/.env', false],
  ];
  for (const [hide, path, expected] of cases) {
    it(`${path} with ${hide?.source ?? 'nothing hidden'} → ${expected ? 'hidden' : 'shown'}`, () => assert.equal(isHidden(path, hide), expected));
  }
});

describe('underRoot', () => {
  it('joins', () => assert.equal(underRoot('/srv/www', '/a/b.css'), '/srv/www/a/b.css'));
  it('keeps a folder\'s slash', () => assert.equal(underRoot('/srv/www', '/a/'), '/srv/www/a/'));
  it('the root itself', () => assert.equal(underRoot('/srv/www', '/'), '/srv/www/'));
  it('a root of /', () => assert.equal(underRoot('/', '/etc/x'), '/etc/x'));
  for (const path of ['/../x', '/a/../../x', '/..']) {
    it(`refuses ${path}`, () => assert.throws(() => underRoot('/srv/www', path), StaticPathError));
  }
  it('a sibling with the root as prefix is not under it', () => assert.throws(() => underRoot('/srv/www', '/../www2/x'), StaticPathError));
});

describe('insideReal', () => {
  it('the root', () => assert.equal(insideReal('/srv/www', '/srv/www'), true));
  it('below', () => assert.equal(insideReal('/srv/www/a', '/srv/www'), true));
  it('a sibling sharing the prefix', () => assert.equal(insideReal('/srv/www2/a', '/srv/www'), false));
  it('above', () => assert.equal(insideReal('/srv', '/srv/www'), false));
  it('root /', () => assert.equal(insideReal('/etc/passwd', '/'), true));
});

describe('expandTry', () => {
  const cases: [string, string, string][] = [
    ['$uri', '/a', '/a'],
    ['$uri/', '/a', '/a/'],
    ['$uri/', '/a/', '/a/'],
    ['$uri.html', '/about', '/about.html'],
    ['/index.html', '/anything', '/index.html'],
    ['/fallback$uri', '/x', '/fallback/x'],
  ];
  for (const [entry, uri, expected] of cases) {
    it(`${entry} for ${uri} → ${expected}`, () => assert.equal(expandTry(entry, uri), expected));
  }
});
