import type { LoadResult } from './load-result.js';

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
