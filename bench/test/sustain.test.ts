import { describe, expect, it } from 'vitest';
import type { LoadResult } from '../lib/load-result.js';
import { completedRate, passMedians, sustained } from '../lib/sustain.js';

const run = (over: Partial<LoadResult>): LoadResult => ({
  mode: 'async',
  durationS: 10,
  requests: 600,
  errors: 0,
  rps: 59,
  latency: { count: 600, min: 20, mean: 90, p50: 80, p90: 150, p95: 200, p99: 300, max: 400 },
  clientCpuMsPerRequest: 1,
  errorKinds: {},
  arrivalRate: 60,
  ...over,
});

describe('sustained open-loop rate', () => {
  it('counts a kept-up run at its arrivals, and a falling-behind one at what completed in the window', () => {
    expect(completedRate(run({}))).toBe(60);
    expect(completedRate(run({ errors: 3, rps: 40 }))).toBe(40);
    expect(completedRate(run({ mode: 'closed', arrivalRate: undefined, rps: 71 }))).toBe(71);
  });

  it('says why a run was not sustained: errors, p99 over the bound, or a growing backlog', () => {
    expect(sustained(run({}), 2000)).toBeUndefined();
    expect(sustained(run({ errors: 2 }), 2000)).toBe('2 errors');
    expect(sustained(run({ latency: { ...run({}).latency, p99: 2500 } }), 2000)).toMatch(/^p99 2500 ms > 2000 ms/);
    expect(sustained(run({ rps: 50 }), 2000)).toMatch(/completed 50.0\/s < 95 % of 60.0\/s arrivals/);
    expect(sustained(run({ rps: 57.1 }), 2000)).toBeUndefined();
  });
});

describe('highest sustained rates over passes', () => {
  it('takes the median of each configuration over its passes, a pass with none counting as 0', () => {
    const summary = passMedians([
      { key: 'on-2', value: 80 },
      { key: 'on-2-stream', value: 90 },
      { key: 'on-2-stream', value: 60 },
      { key: 'on-2', value: 70 },
      { key: 'on-2', value: undefined },
      { key: 'on-2-stream', value: 88 },
    ]);
    expect(summary).toEqual([
      { key: 'on-2', values: [80, 70, 0], median: 70 },
      { key: 'on-2-stream', values: [90, 60, 88], median: 88 },
    ]);
    expect(passMedians([{ key: 'a', value: 10 }, { key: 'a', value: 20 }])[0]?.median).toBe(15);
  });
});
