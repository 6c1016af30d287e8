// When to replace a worker that died, and when deaths add up to a crash loop. Pure: the times of
// recent deaths in, a delay and a verdict out.

/** A worker that lived this long died of something new: it is replaced at once. */
export const STABLE_MS = 30_000;
/** Deaths counted for the verdict. */
export const LOOP_WINDOW_MS = 60_000;
export const LOOP_DEATHS = 5;
const FIRST_DELAY_MS = 100;
const MAX_DELAY_MS = 30_000;

export interface RestartPlan {
  delayMs: number;
  /** LOOP_DEATHS or more deaths within LOOP_WINDOW_MS. */
  crashLoop: boolean;
}

/**
 * `deaths`: times of earlier deaths of workers (oldest first), `now` this death, `livedMs` how long
 * the worker that just died ran. The delay doubles with each quick death in the window.
 */
export function restartPlan(deaths: readonly number[], now: number, livedMs: number): RestartPlan {
  const recent = deaths.filter((t) => now - t < LOOP_WINDOW_MS).length + 1;
  const crashLoop = recent >= LOOP_DEATHS;
  if (livedMs >= STABLE_MS && !crashLoop) return { delayMs: 0, crashLoop };
  return { delayMs: Math.min(MAX_DELAY_MS, FIRST_DELAY_MS * 2 ** (recent - 1)), crashLoop };
}
