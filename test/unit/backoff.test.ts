// Replacing dead workers: at once after a long life, with doubling delays when they die quickly,
// and a crash loop named once deaths pile up in a minute.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { restartPlan } from '../../src/ops/backoff.ts';

describe('restartPlan', () => {
  it('a worker that ran 30 s or more is replaced at once', () => {
    assert.deepEqual(restartPlan([], 100_000, 30_000), { delayMs: 0, crashLoop: false });
  });

  it('quick deaths double the delay, up to 30 s', () => {
    const now = 1_000_000;
    assert.equal(restartPlan([], now, 500).delayMs, 100);
    assert.equal(restartPlan([now - 1000], now, 500).delayMs, 200);
    assert.equal(restartPlan([now - 2000, now - 1000], now, 500).delayMs, 400);
    assert.equal(restartPlan(Array.from({ length: 20 }, (_, i) => now - 1000 * (i + 1)), now, 500).delayMs, 30_000);
  });

  it('5 deaths within a minute are a crash loop; older ones do not count', () => {
    const now = 1_000_000;
    assert.equal(restartPlan([now - 4000, now - 3000, now - 2000], now, 500).crashLoop, false);
    assert.equal(restartPlan([now - 4000, now - 3000, now - 2000, now - 1000], now, 500).crashLoop, true);
    assert.equal(restartPlan([now - 61_000, now - 3000, now - 2000, now - 1000], now, 500).crashLoop, false);
    // a long life does not hide a loop of other workers dying
    assert.deepEqual(restartPlan([now - 4000, now - 3000, now - 2000, now - 1000], now, 40_000), { delayMs: 1600, crashLoop: true });
  });
});
