import { describe, expect, it } from 'vitest';
import { selfTimes } from '../lib/cpu-profile.js';
import { histogramDelta, histogramDistribution, histogramSum, parseCounter, parseHistogram } from '../lib/prometheus.js';
import { commandDelta, parseCommandStats, parseInfoFields } from '../lib/redis-stats.js';
import { linearSlope, summarizeRss } from '../lib/rss.js';

const metrics = (counts: number[], sum: number): string =>
  [
    '# HELP maskq_batch_size Jobs per inference batch',
    '# TYPE maskq_batch_size histogram',
    ...['1', '2', '4', '8', '16', '+Inf'].map((le, i) => `maskq_batch_size_bucket{le="${le}"} ${counts[i]}`),
    `maskq_batch_size_sum ${sum}`,
    `maskq_batch_size_count ${counts.at(-1)}`,
    'maskq_batch_size_other 99',
    'maskq_jobs_completed_total 7',
  ].join('\n');

describe('Prometheus histogram text', () => {
  it('reads cumulative buckets, sum and count, and subtracts snapshots', () => {
    const before = parseHistogram(metrics([1, 1, 1, 1, 1, 1], 1), 'maskq_batch_size');
    const after = parseHistogram(metrics([2, 3, 5, 9, 9, 9], 41), 'maskq_batch_size');
    expect(after.buckets.at(-1)).toEqual({ le: Number.POSITIVE_INFINITY, count: 9 });
    const delta = histogramDelta(after, before);
    expect(delta.count).toBe(8);
    expect(delta.sum).toBe(40);
    expect(histogramDistribution(delta)).toEqual([
      { range: '1', count: 1 },
      { range: '2', count: 1 },
      { range: '3–4', count: 2 },
      { range: '5–8', count: 4 },
    ]);
  });

  it('adds label sets and workers together; absent metrics read as zero', () => {
    const text = 'h_bucket{worker="a",le="1"} 2\nh_bucket{le="1",worker="b"} 3\nh_bucket{le="+Inf"} 6\nh_sum 9\nh_count 6\n';
    const h = parseHistogram(text, 'h');
    expect(h.buckets).toEqual([
      { le: 1, count: 5 },
      { le: Number.POSITIVE_INFINITY, count: 6 },
    ]);
    expect(histogramSum([h, h]).count).toBe(12);
    expect(parseHistogram(text, 'missing')).toEqual({ buckets: [], sum: 0, count: 0 });
    expect(parseCounter(metrics([0, 0, 0, 0, 0, 0], 0), 'maskq_jobs_completed_total')).toBe(7);
    expect(histogramDistribution(parseHistogram('x_bucket{le="64"} 1\nx_bucket{le="+Inf"} 3\n', 'x'))).toEqual([
      { range: '64', count: 1 },
      { range: '>64', count: 2 },
    ]);
  });
});

describe('Redis INFO', () => {
  const info = [
    '# Commandstats',
    'cmdstat_evalsha:calls=10,usec=500,usec_per_call=50.00,rejected_calls=0,failed_calls=0',
    'cmdstat_SET:calls=4,usec=8,usec_per_call=2.00',
    'cmdstat_client|setname:calls=2,usec=1',
    '',
    '# Stats',
    'total_commands_processed:123',
  ].join('\r\n');

  it('parses calls per command (lower case, subcommands kept) and other fields', () => {
    const calls = parseCommandStats(info);
    expect(calls.get('evalsha')).toBe(10);
    expect(calls.get('set')).toBe(4);
    expect(calls.get('client|setname')).toBe(2);
    expect(parseInfoFields(info).get('total_commands_processed')).toBe('123');
  });

  it('diffs two snapshots, most calls first, unchanged commands left out', () => {
    const before = new Map([['evalsha', 10], ['set', 4], ['get', 1]]);
    const after = new Map([['evalsha', 25], ['set', 4], ['get', 3], ['xadd', 2]]);
    expect(commandDelta(after, before)).toEqual([
      { command: 'evalsha', calls: 15 },
      { command: 'get', calls: 2 },
      { command: 'xadd', calls: 2 },
    ]);
  });
});

describe('RSS slope', () => {
  it('fits MB per minute by least squares and ignores unreadable samples', () => {
    expect(linearSlope([{ x: 0, y: 1 }, { x: 1, y: 3 }, { x: 2, y: 5 }])).toBeCloseTo(2);
    expect(linearSlope([{ x: 0, y: 1 }])).toBeNaN();
    const s = summarizeRss([{ s: 0, mb: 100 }, { s: 30, mb: Number.NaN }, { s: 60, mb: 110 }, { s: 120, mb: 105 }]);
    expect(s.firstMb).toBe(100);
    expect(s.lastMb).toBe(105);
    expect(s.maxMb).toBe(110);
    expect(s.slopeMbPerMin).toBeCloseTo(2.5);
    // From a given second on: the warmup's growth does not count.
    const late = summarizeRss([{ s: 0, mb: 50 }, { s: 10, mb: 100 }, { s: 70, mb: 101 }], 10);
    expect(late.firstMb).toBe(100);
    expect(late.slopeMbPerMin).toBeCloseTo(1);
  });
});

describe('CPU profile self time', () => {
  it('charges each sample to its function and sums the same function reached by two paths', () => {
    const frame = (functionName: string, line: number) => ({ functionName, url: 'file:///x/node_modules/a/b.js', lineNumber: line });
    const profile = {
      nodes: [
        { id: 1, callFrame: frame('(root)', 0) },
        { id: 2, callFrame: frame('hot', 9) },
        { id: 3, callFrame: frame('hot', 9) },
        { id: 4, callFrame: frame('cold', 19) },
      ],
      startTime: 0,
      endTime: 100,
      samples: [2, 3, 4, 2],
      timeDeltas: [0, 1000, 1000, 2000, 1000],
    };
    const top = selfTimes(profile);
    expect(top[0]).toMatchObject({ frame: 'hot (a/b.js:10)', ms: 3 });
    expect(top[1]).toMatchObject({ frame: 'cold (a/b.js:20)', ms: 2 });
    expect(top[0]!.share).toBeCloseTo(0.6);
  });
});
