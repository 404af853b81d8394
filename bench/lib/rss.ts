import { readFileSync } from 'node:fs';

/** Resident set size of a process in MB from /proc/<pid>/status (VmRSS), NaN when unreadable. */
export function readRssMb(pid: number): number {
  try {
    const kb = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kb === undefined ? Number.NaN : Number(kb) / 1024;
  } catch {
    return Number.NaN;
  }
}

/** Least-squares slope of y over x (units of y per unit of x); NaN with fewer than 2 points. */
export function linearSlope(points: ReadonlyArray<{ x: number; y: number }>): number {
  const n = points.length;
  if (n < 2) return Number.NaN;
  const mx = points.reduce((s, p) => s + p.x, 0) / n;
  const my = points.reduce((s, p) => s + p.y, 0) / n;
  let num = 0;
  let den = 0;
  for (const p of points) {
    num += (p.x - mx) * (p.y - my);
    den += (p.x - mx) ** 2;
  }
  return den === 0 ? Number.NaN : num / den;
}

export interface RssSummary {
  samples: Array<{ s: number; mb: number }>;
  firstMb: number;
  lastMb: number;
  maxMb: number;
  /** least-squares slope over the samples, MB per minute */
  slopeMbPerMin: number;
}

/** `fromS`: only samples from then on count (e.g. after a warmup in which the heap grows to its working size). */
export function summarizeRss(samples: Array<{ s: number; mb: number }>, fromS = 0): RssSummary {
  const valid = samples.filter((p) => Number.isFinite(p.mb) && p.s >= fromS);
  return {
    samples,
    firstMb: valid[0]?.mb ?? Number.NaN,
    lastMb: valid.at(-1)?.mb ?? Number.NaN,
    maxMb: valid.length ? Math.max(...valid.map((p) => p.mb)) : Number.NaN,
    slopeMbPerMin: linearSlope(valid.map((p) => ({ x: p.s / 60, y: p.mb }))),
  };
}

/** Samples a process's RSS every `everyMs` until stop(). */
export function sampleRss(pid: number, everyMs = 1000): { stop: (fromS?: number) => RssSummary } {
  const start = performance.now();
  const samples: Array<{ s: number; mb: number }> = [];
  const take = (): void => {
    samples.push({ s: (performance.now() - start) / 1000, mb: readRssMb(pid) });
  };
  take();
  const timer = setInterval(take, everyMs);
  return {
    stop: (fromS = 0) => {
      clearInterval(timer);
      take();
      return summarizeRss(samples, fromS);
    },
  };
}
