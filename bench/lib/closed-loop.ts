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

export interface ClientLoopOptions {
  bodies: readonly MultipartBody[];
  concurrency: number;
  durationMs: number;
  warmupMs: number;
}

/**
 * Runs C clients that each send the next body (round-robin over all clients) with `send`, wait for
 * its outcome (a problem string, or undefined on success) and send again, until the window closes.
 * Records the outcomes that complete inside [warmup, warmup + duration]; after a problem a client
 * pauses 10 ms, so a failing server that answers fast is not spun on.
 */
export async function driveClients(options: ClientLoopOptions, send: (body: MultipartBody) => Promise<string | undefined>): Promise<WindowRecorder> {
  const { bodies } = options;
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
      const problem = await send(body);
      const doneAt = performance.now();
      if (recorder.inWindow(doneAt)) {
        if (problem) recorder.error(problem);
        else recorder.success(doneAt - sentAt, doneAt);
      }
      if (problem) await sleep(10);
    }
  };

  await Promise.all(Array.from({ length: options.concurrency }, client));
  return recorder;
}

/**
 * Closed loop (like wrk) of multipart POSTs to one URL: each client waits for its answer before
 * sending again (see driveClients).
 */
export async function runClosedLoop(options: ClosedLoopOptions): Promise<LoadResult> {
  const validate = options.validate ?? isSuccessfulDetect;
  const target = new HttpTarget(options.url, { maxSockets: options.concurrency, timeoutMs: options.timeoutMs });
  try {
    const recorder = await driveClients(options, (body) =>
      target.post(body).then(validate, (err: unknown) => (err instanceof Error ? err.message : String(err))),
    );
    return recorder.finish({ mode: 'closed', concurrency: options.concurrency });
  } finally {
    target.close();
  }
}
