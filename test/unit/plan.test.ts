// Which certificates a config asks for: one per name, a wildcard with its apex in one
// certificate by dns-01, local names to the local CA, a site's own challenge list carried along.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { certificatePlan } from '../../src/tls/plan.ts';
import type { Site } from '../../src/config/schema.ts';

const site = (hosts: string[], extra: Partial<Site> = {}) => ({ hosts, tls: 'auto', routes: [], ...extra }) as unknown as Site;

describe('certificatePlan', () => {
  it('puts *.example.com and example.com listed in one site in one dns-01 certificate', () => {
    assert.deepEqual(certificatePlan([site(['*.example.com', 'example.com', 'www.other.net'])]), [
      { kind: 'acme', name: '*.example.com', names: ['*.example.com', 'example.com'], challenges: ['dns-01'] },
      { kind: 'acme', name: 'www.other.net' },
    ]);
  });

  it('gives a wildcard alone its own certificate, and the apex listed in another site its own', () => {
    assert.deepEqual(certificatePlan([site(['*.example.com']), site(['example.com'])]), [
      { kind: 'acme', name: '*.example.com', challenges: ['dns-01'] },
      { kind: 'acme', name: 'example.com' },
    ]);
  });

  it('carries a site\'s challenges, and sends local wildcards to the local CA', () => {
    assert.deepEqual(certificatePlan([site(['a.example.com'], { challenges: ['dns-01'] }), site(['*.localhost'])]), [
      { kind: 'acme', name: 'a.example.com', challenges: ['dns-01'] },
      { kind: 'local', name: '*.localhost' },
    ]);
  });
});
