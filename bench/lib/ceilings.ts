/** One measurement of the library alone, at a place in a run's sequence of configurations. */
export interface CeilingPoint {
  /** 0: before the first configuration; i: between configurations i and i + 1; their count: after the last */
  slot: number;
  imagesPerSecond: number;
}

/** The best images/s measured at any of `slots` (NaN when none was). */
export function bestAt(ceilings: readonly CeilingPoint[], ...slots: number[]): number {
  const rates = ceilings.filter((c) => slots.includes(c.slot)).map((c) => c.imagesPerSecond);
  return rates.length ? Math.max(...rates) : Number.NaN;
}

/**
 * The library "next to" configuration `runIndex` (0-based): the best measured just before it or
 * just after it. On a host whose speed drifts within a run, a configuration is set against the
 * library of its own minutes, never against a lower figure than either neighbour.
 */
export function ceilingNextTo(ceilings: readonly CeilingPoint[], runIndex: number): number {
  return bestAt(ceilings, runIndex, runIndex + 1);
}
