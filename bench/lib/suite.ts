import { runClosedLoop } from './closed-loop.js';
import type { LoadResult } from './load-result.js';
import { median } from './stats.js';
import type { RunningTarget } from './targets.js';

export interface ClosedSettings {
  durationMs: number;
  warmupMs: number;
}

/** Medians over repeated runs at one concurrency. */
export interface ClosedAggregate {
  system: string;
  concurrency: number;
  runs: number;
  rps: number;
  p50: number;
  p95: number;
  p99: number;
  errors: number;
  clientCpuMsPerRequest: number;
  /** server CPU (all its processes) per answered request, ms: robust to other load on the machine */
  serverCpuMsPerRequest: number;
  /** every run's req/s, to show the spread */
  rpsPerRun: number[];
}

export function aggregate(system: string, concurrency: number, results: readonly LoadResult[]): ClosedAggregate {
  return {
    system,
    concurrency,
    runs: results.length,
    rps: median(results.map((r) => r.rps)),
    p50: median(results.map((r) => r.latency.p50)),
    p95: median(results.map((r) => r.latency.p95)),
    p99: median(results.map((r) => r.latency.p99)),
    errors: results.reduce((sum, r) => sum + r.errors, 0),
    clientCpuMsPerRequest: median(results.map((r) => r.clientCpuMsPerRequest)),
    serverCpuMsPerRequest: median(results.map((r) => r.serverCpuMsPerRequest ?? Number.NaN)),
    rpsPerRun: results.map((r) => Math.round(r.rps * 10) / 10),
  };
}

export async function closedRun(target: RunningTarget, concurrency: number, settings: ClosedSettings): Promise<LoadResult> {
  // Sample the server's CPU at the edges of the measured window.
  const samples: number[] = [];
  const timers = [settings.warmupMs, settings.warmupMs + settings.durationMs].map((at) => setTimeout(() => samples.push(target.cpuMs()), at));
  const result = await runClosedLoop({ url: target.detectUrl, bodies: target.bodies, concurrency, ...settings });
  timers.forEach(clearTimeout);
  if (samples.length === 2) result.serverCpuMsPerRequest = ((samples[1] as number) - (samples[0] as number)) / result.requests;
  const errors = result.errors ? `, ${result.errors} errors ${JSON.stringify(result.errorKinds)}` : '';
  console.log(
    `  ${target.name.padEnd(5)} c=${String(concurrency).padStart(3)}: ${result.rps.toFixed(1)} req/s, p50 ${result.latency.p50.toFixed(0)} ms, p99 ${result.latency.p99.toFixed(0)} ms, server CPU ${(result.serverCpuMsPerRequest ?? Number.NaN).toFixed(1)} ms/req${errors}`,
  );
  return result;
}
