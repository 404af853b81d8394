import { setTimeout as sleep } from 'node:timers/promises';
import { HttpTarget, isSuccessfulDetect, type HttpResponse } from './http-target.js';
import { WindowRecorder, type LoadResult } from './load-result.js';
import type { MultipartBody } from './multipart.js';

export interface OpenLoopOptions {
  url: string;
  bodies: readonly MultipartBody[];
  /** requests per second offered, whatever the server does */
  rate: number;
  durationMs: number;
  warmupMs: number;
  arrival?: 'poisson' | 'uniform';
  /** most connections opened; beyond that requests wait in the client (and that wait is counted) */
  maxConnections?: number;
  timeoutMs?: number;
  /** seed for the Poisson arrivals, so runs are repeatable */
  seed?: number;
  validate?: (res: HttpResponse) => string | undefined;
}

/** mulberry32: a small seeded PRNG in [0, 1). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Arrival times in ms from 0, up to `untilMs`: evenly spaced (uniform) or with exponential gaps
 * (Poisson process) at `rate` per second.
 */
export function arrivalSchedule(rate: number, untilMs: number, arrival: 'poisson' | 'uniform', random: () => number): number[] {
  if (!(rate > 0)) throw new RangeError(`rate must be > 0: ${rate}`);
  const meanGap = 1000 / rate;
  const times: number[] = [];
  let t = arrival === 'uniform' ? 0 : -Math.log(1 - random()) * meanGap;
  while (t < untilMs) {
    times.push(t);
    t += arrival === 'uniform' ? meanGap : -Math.log(1 - random()) * meanGap;
  }
  return times;
}

export interface ScheduleOptions {
  bodies: readonly MultipartBody[];
  rate: number;
  durationMs: number;
  warmupMs: number;
  arrival?: 'poisson' | 'uniform';
  seed?: number;
}

/**
 * Sends `send(body)` at scheduled times whether or not earlier sends were answered, and records
 * those scheduled inside the measured window. `send` resolves to a problem string, or undefined
 * on success. Latency runs from the *scheduled* send time to the answer, so a stalled server (or a
 * lagging client) shows up in the numbers instead of being hidden (coordinated omission).
 */
export async function driveSchedule(options: ScheduleOptions, send: (body: MultipartBody) => Promise<string | undefined>): Promise<WindowRecorder> {
  const { bodies } = options;
  const schedule = arrivalSchedule(options.rate, options.warmupMs + options.durationMs, options.arrival ?? 'poisson', seededRandom(options.seed ?? 1));
  const start = performance.now();
  const recorder = new WindowRecorder(start + options.warmupMs, start + options.warmupMs + options.durationMs);
  const inFlight = new Set<Promise<void>>();
  let cpuStarted = false;

  const fire = (scheduledAt: number, body: MultipartBody): void => {
    const measured = recorder.inWindow(scheduledAt);
    // Timers may wake up to ~1 ms early: then latency runs from the actual send, never before it.
    const from = Math.max(scheduledAt, performance.now());
    if (measured) {
      recorder.countSent();
      recorder.sendLag(from - scheduledAt);
    }
    const p = send(body)
      .then((problem) => {
        const doneAt = performance.now();
        // A warm-up arrival that completes inside the window is throughput of the window, nothing more.
        if (!measured) {
          if (!problem) recorder.completion(doneAt);
          return;
        }
        // Counted by when it was scheduled: answers that come late still count, with their lateness.
        if (problem) recorder.error(problem);
        else recorder.success(doneAt - from, doneAt);
      })
      .finally(() => inFlight.delete(p));
    inFlight.add(p);
  };

  for (let i = 0; i < schedule.length; i++) {
    const scheduledAt = start + (schedule[i] as number);
    if (!cpuStarted && scheduledAt >= recorder.windowStart) {
      cpuStarted = true;
      recorder.startCpu();
    }
    const wait = scheduledAt - performance.now();
    if (wait > 1) await sleep(wait);
    else if (i % 64 === 63) await new Promise((r) => setImmediate(r)); // behind schedule: still let answers in
    fire(scheduledAt, bodies[i % bodies.length] as MultipartBody);
  }
  while (inFlight.size) await Promise.all([...inFlight]);
  return recorder;
}

/** Open loop of multipart POSTs to one URL (see driveSchedule). */
export async function runOpenLoop(options: OpenLoopOptions): Promise<LoadResult> {
  const validate = options.validate ?? isSuccessfulDetect;
  const target = new HttpTarget(options.url, { maxSockets: options.maxConnections ?? 512, timeoutMs: options.timeoutMs });
  try {
    const recorder = await driveSchedule(options, (body) =>
      target.post(body).then(validate, (err: unknown) => (err instanceof Error ? err.message : String(err))),
    );
    return recorder.finish({ mode: 'open', offeredRate: options.rate });
  } finally {
    target.close();
  }
}
