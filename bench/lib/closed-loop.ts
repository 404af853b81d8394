import { setTimeout as sleep } from 'node:timers/promises';
import { HttpTarget, isSuccessfulDetect, type HttpResponse } from './http-target.js';
import { WindowRecorder, type LoadResult } from './load-result.js';
import type { MultipartBody } from './multipart.js';

export interface ClosedLoopOptions {
  url: string;
  bodies: readonly MultipartBody[];
  /** concurrent clients, each with its own keep-alive connection, one request in flight each */
  concurrency: number;
  durationMs: number;
  warmupMs: number;
  timeoutMs?: number;
  /** undefined when the answer is good, else why not */
  validate?: (res: HttpResponse) => string | undefined;
}

/**
 * Closed loop (like wrk): C clients each send the next fixture (round-robin over all clients),
 * wait for the answer, send again. Counts answers that complete inside [warmup, warmup+duration].
 */
export async function runClosedLoop(options: ClosedLoopOptions): Promise<LoadResult> {
  const { bodies, concurrency } = options;
  const validate = options.validate ?? isSuccessfulDetect;
  const target = new HttpTarget(options.url, { maxSockets: concurrency, timeoutMs: options.timeoutMs });
  const start = performance.now();
  const recorder = new WindowRecorder(start + options.warmupMs, start + options.warmupMs + options.durationMs);
  let next = 0;
  let cpuStarted = false;

  const client = async (): Promise<void> => {
    while (performance.now() < recorder.windowEnd) {
      const body = bodies[next++ % bodies.length] as MultipartBody;
      const sentAt = performance.now();
      if (!cpuStarted && sentAt >= recorder.windowStart) {
        cpuStarted = true;
        recorder.startCpu();
      }
      if (recorder.inWindow(sentAt)) recorder.countSent();
      let problem: string | undefined;
      try {
        problem = validate(await target.post(body));
      } catch (err) {
        problem = err instanceof Error ? err.message : String(err);
      }
      const doneAt = performance.now();
      if (!recorder.inWindow(doneAt)) {
        // A failing server answers fast; don't spin on it.
        if (problem) await sleep(10);
        continue;
      }
      if (problem) {
        recorder.error(problem);
        await sleep(10);
      } else {
        recorder.success(doneAt - sentAt, doneAt);
      }
    }
  };

  try {
    await Promise.all(Array.from({ length: concurrency }, client));
  } finally {
    target.close();
  }
  return recorder.finish({ mode: 'closed', concurrency });
}
