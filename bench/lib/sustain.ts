import type { LoadResult } from './load-result.js';
import { median } from './stats.js';

/**
 * Jobs/s of a load run. For an open-loop run in which every arrival completed, the arrivals of the
 * window (the system kept up with them; counting completions inside the window would miss the
 * last ones, still in flight when it closed); otherwise what completed inside the window.
 */
export function completedRate(r: LoadResult): number {
  if (r.mode === 'closed' || r.arrivalRate === undefined) return r.rps;
  return r.errors === 0 ? Math.min(r.arrivalRate, r.requests / r.durationS) : r.rps;
}

/**
 * undefined when an open-loop run kept up with its arrivals; otherwise why not: an error, p99 over
 * `maxP99Ms`, or a throughput inside the window (warm-up arrivals' completions included, so latency
 * alone does not lower it) under 95 % of the window's arrival rate: the backlog grew.
 */
export function sustained(r: LoadResult, maxP99Ms: number): string | undefined {
  if (r.errors > 0) return `${r.errors} errors`;
  if (r.latency.p99 > maxP99Ms) return `p99 ${r.latency.p99.toFixed(0)} ms > ${maxP99Ms} ms`;
  if (r.arrivalRate !== undefined && r.rps < 0.95 * r.arrivalRate) return `completed ${r.rps.toFixed(1)}/s < 95 % of ${r.arrivalRate.toFixed(1)}/s arrivals`;
  return undefined;
}

/** One configuration's figure (a highest sustained rate, or a ratio) in every pass, and their median. */
export interface PassSummary {
  key: string;
  /** one per pass, in pass order; 0 for a pass in which no rate was sustained */
  values: number[];
  median: number;
}

/**
 * Groups the figures of several passes by configuration key (in first-seen order) and takes the
 * median of each: on a shared machine one pass can fall at its first step to another tenant's
 * burst, and the median of three is not moved by one such pass.
 */
export function passMedians(searches: ReadonlyArray<{ key: string; value: number | undefined }>): PassSummary[] {
  const byKey = new Map<string, number[]>();
  for (const { key, value } of searches) {
    const values = byKey.get(key) ?? [];
    values.push(value ?? 0);
    byKey.set(key, values);
  }
  return [...byKey.entries()].map(([key, values]) => ({ key, values, median: median(values) }));
}
