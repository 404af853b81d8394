import { Agent, request, type ClientRequest } from 'node:http';
import { SseParser } from '@maskq/client/core';
import { driveClients } from './closed-loop.js';
import { HttpTarget } from './http-target.js';
import type { LoadResult } from './load-result.js';
import type { MultipartBody } from './multipart.js';
import { driveSchedule } from './open-loop.js';

export interface AsyncLoopOptions {
  /** the API's base URL, e.g. http://127.0.0.1:8000 */
  baseUrl: string;
  bodies: readonly MultipartBody[];
  concurrency: number;
  durationMs: number;
  warmupMs: number;
  timeoutMs?: number;
}

const finalStatuses = new Set(['completed', 'failed', 'expired', 'cancelled']);

/**
 * Follows GET /v1/jobs/:id/events until a final state; resolves with that status. The API sends
 * the current state first, so a job that finished before we subscribed is still seen.
 */
export function waitForFinalEvent(agent: Agent, url: URL, timeoutMs: number): Promise<string> {
  return new Promise((resolveStatus, reject) => {
    const req = request({ agent, host: url.hostname, port: url.port, path: url.pathname, headers: { accept: 'text/event-stream' }, timeout: timeoutMs }, (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        reject(new Error(`events: HTTP ${res.statusCode}`));
        return;
      }
      const parser = new SseParser();
      let settled = false;
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        for (const event of parser.push(chunk)) {
          if (!settled && finalStatuses.has(event.event)) {
            // The API ends the stream after a final state; reading on to its end lets the
            // keep-alive agent reuse the connection for the next job's stream.
            settled = true;
            resolveStatus(event.event);
          }
        }
      });
      res.on('end', () => settled || reject(new Error('events: stream ended without a final state')));
      res.on('error', (err) => settled || reject(err));
    });
    req.on('timeout', () => req.destroy(new Error(`events: no final state after ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}

/** POST /v1/jobs, then the job's SSE stream until a final state: undefined when completed, else why not. */
export async function submitAndWait(submit: HttpTarget, eventsAgent: Agent, baseUrl: string, body: MultipartBody, timeoutMs: number): Promise<string | undefined> {
  try {
    const accepted = await submit.post(body);
    if (accepted.status !== 202) throw new Error(`submit: HTTP ${accepted.status}`);
    const { id } = JSON.parse(accepted.body.toString('utf8')) as { id?: string };
    if (!id) throw new Error('submit: no job id');
    const status = await waitForFinalEvent(eventsAgent, new URL(`/v1/jobs/${encodeURIComponent(id)}/events`, baseUrl), timeoutMs);
    return status === 'completed' ? undefined : `job ${status}`;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}

/**
 * One `GET /v1/events` stream for every job (what a client with a steady flow of jobs opens once):
 * each job's waiter is resolved by its final event. A final event that arrives before its waiter
 * (the job finished before the 202 was read) is kept until claimed.
 */
export class FinishedJobsStream {
  private readonly waiters = new Map<string, { resolve: (status: string) => void; reject: (err: Error) => void; timer: NodeJS.Timeout }>();
  private readonly early = new Map<string, string>();
  private ended: Error | undefined;

  private constructor(private readonly req: ClientRequest) {}

  /** Resolves once the API answered 200: from then on no finish is missed. */
  static open(baseUrl: string): Promise<FinishedJobsStream> {
    const url = new URL('/v1/events', baseUrl);
    return new Promise((resolve, reject) => {
      const req = request({ host: url.hostname, port: url.port, path: url.pathname, headers: { accept: 'text/event-stream' } }, (res) => {
        if (res.statusCode !== 200) {
          res.resume();
          reject(new Error(`events: HTTP ${res.statusCode}`));
          return;
        }
        const stream = new FinishedJobsStream(req);
        const parser = new SseParser();
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          for (const event of parser.push(chunk)) {
            if (!finalStatuses.has(event.event)) continue;
            const { id } = JSON.parse(event.data) as { id: string };
            stream.settle(id, event.event);
          }
        });
        const end = (err?: Error) => stream.fail(err ?? new Error('events: the stream ended'));
        res.on('end', () => end());
        res.on('error', end);
        resolve(stream);
      });
      req.on('error', reject);
      req.end();
    });
  }

  private settle(id: string, status: string): void {
    const waiter = this.waiters.get(id);
    if (!waiter) {
      this.early.set(id, status);
      return;
    }
    this.waiters.delete(id);
    clearTimeout(waiter.timer);
    waiter.resolve(status);
  }

  private fail(err: Error): void {
    this.ended ??= err;
    for (const [id, waiter] of this.waiters) {
      clearTimeout(waiter.timer);
      waiter.reject(err);
      this.waiters.delete(id);
    }
  }

  /** The job's final status, as the stream tells it. */
  wait(id: string, timeoutMs: number): Promise<string> {
    const early = this.early.get(id);
    if (early) {
      this.early.delete(id);
      return Promise.resolve(early);
    }
    if (this.ended) return Promise.reject(this.ended);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(id);
        reject(new Error(`events: no final state after ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiters.set(id, { resolve, reject, timer });
    });
  }

  close(): void {
    this.req.destroy();
    this.fail(new Error('events: closed'));
  }
}

/** POST /v1/jobs, then its final event on the shared stream: undefined when completed, else why not. */
export async function submitAndWaitOnStream(submit: HttpTarget, stream: FinishedJobsStream, body: MultipartBody, timeoutMs: number): Promise<string | undefined> {
  try {
    const accepted = await submit.post(body);
    if (accepted.status !== 202) throw new Error(`submit: HTTP ${accepted.status}`);
    const { id } = JSON.parse(accepted.body.toString('utf8')) as { id?: string };
    if (!id) throw new Error('submit: no job id');
    const status = await stream.wait(id, timeoutMs);
    return status === 'completed' ? undefined : `job ${status}`;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}

/**
 * POST /v1/jobs/batch, then each of its jobs' final events on the shared stream: undefined when
 * every image was accepted and completed, else the first reason one was not.
 */
export async function submitBatchAndWaitOnStream(submit: HttpTarget, stream: FinishedJobsStream, body: MultipartBody, timeoutMs: number): Promise<string | undefined> {
  try {
    const accepted = await submit.post(body);
    if (accepted.status !== 202) throw new Error(`submit: HTTP ${accepted.status}`);
    const { jobs } = JSON.parse(accepted.body.toString('utf8')) as { jobs?: Array<{ id?: string; error?: { code?: string } }> };
    if (!jobs?.length) throw new Error('submit: no jobs in the answer');
    // Every accepted image is waited for, so none of its events is left behind in the stream.
    const statuses = await Promise.all(jobs.map((entry) => (entry.id ? stream.wait(entry.id, timeoutMs) : Promise.resolve(`refused (${entry.error?.code ?? 'no id'})`))));
    const problem = statuses.find((status) => status !== 'completed');
    return problem === undefined ? undefined : problem.startsWith('refused') ? `image ${problem}` : `job ${problem}`;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}

/**
 * Closed loop over the async API: each client submits POST /v1/jobs (202 + id), then waits on
 * the job's SSE stream; latency is submit → final state seen, the number a queue user feels.
 */
export async function runAsyncClosedLoop(options: AsyncLoopOptions): Promise<LoadResult> {
  const timeoutMs = options.timeoutMs ?? 120_000;
  const submit = new HttpTarget(new URL('/v1/jobs', options.baseUrl), { maxSockets: options.concurrency, timeoutMs });
  const eventsAgent = new Agent({ keepAlive: true, maxSockets: options.concurrency });
  try {
    const recorder = await driveClients(options, (body) => submitAndWait(submit, eventsAgent, options.baseUrl, body, timeoutMs));
    return recorder.finish({ mode: 'async', concurrency: options.concurrency });
  } finally {
    submit.close();
    eventsAgent.destroy();
  }
}

export interface AsyncOpenLoopOptions extends Omit<AsyncLoopOptions, 'concurrency'> {
  /** jobs per second submitted, whatever the system does */
  rate: number;
  arrival?: 'poisson' | 'uniform';
  seed?: number;
  /** most submit connections (each job's SSE stream has its own) */
  maxConnections?: number;
  /** how results are seen: each job's own SSE stream (default), or one GET /v1/events stream for all */
  events?: 'per-job' | 'stream';
  /**
   * Images per submission (default 1, POST /v1/jobs). More: POST /v1/jobs/batch at `rate` ÷ this
   * many requests/s, with `bodies` carrying that many images each (loadFixtureBatchBodies), results
   * on the one event stream; counts, rates and client CPU of the result are then per image, and a
   * latency is that of a whole submission (until the last of its images finished).
   */
  imagesPerRequest?: number;
}

/** A run whose every submission carried `images` images, restated per image (an error counts each image of its submission; errorKinds stay per submission). */
export function perImage(result: LoadResult, images: number): LoadResult {
  if (images === 1) return result;
  return {
    ...result,
    requests: result.requests * images,
    errors: result.errors * images,
    rps: result.rps * images,
    clientCpuMsPerRequest: result.clientCpuMsPerRequest / images,
    ...(result.offeredRate === undefined ? {} : { offeredRate: result.offeredRate * images }),
    ...(result.arrivalRate === undefined ? {} : { arrivalRate: result.arrivalRate * images }),
    imagesPerRequest: images,
  };
}

/**
 * Open loop over the async API: jobs are submitted at scheduled times (Poisson by default) and
 * each is followed on SSE until its final state (its own stream, or the one shared stream). Latency runs from the scheduled submit time to
 * the result seen, so a backlog shows up in the numbers (no coordinated omission).
 */
export async function runAsyncOpenLoop(options: AsyncOpenLoopOptions): Promise<LoadResult> {
  const timeoutMs = options.timeoutMs ?? 120_000;
  const images = options.imagesPerRequest ?? 1;
  if (!(Number.isInteger(images) && images >= 1)) throw new RangeError(`imagesPerRequest must be a whole number >= 1, not ${images}`);
  if (images > 1 && options.events !== 'stream') throw new Error('batch submissions are followed on the one event stream (events: stream)');
  const submit = new HttpTarget(new URL(images > 1 ? '/v1/jobs/batch' : '/v1/jobs', options.baseUrl), { maxSockets: options.maxConnections ?? 256, timeoutMs });
  const eventsAgent = new Agent({ keepAlive: true });
  const stream = options.events === 'stream' ? await FinishedJobsStream.open(options.baseUrl) : undefined;
  try {
    const rate = options.rate / images;
    const recorder = await driveSchedule({ ...options, rate }, (body) =>
      !stream
        ? submitAndWait(submit, eventsAgent, options.baseUrl, body, timeoutMs)
        : images > 1
          ? submitBatchAndWaitOnStream(submit, stream, body, timeoutMs)
          : submitAndWaitOnStream(submit, stream, body, timeoutMs),
    );
    return perImage(recorder.finish({ mode: 'async', offeredRate: rate }), images);
  } finally {
    stream?.close();
    submit.close();
    eventsAgent.destroy();
  }
}
