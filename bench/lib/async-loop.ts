import { Agent, request } from 'node:http';
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
}

/**
 * Open loop over the async API: jobs are submitted at scheduled times (Poisson by default) and
 * each is followed on SSE until its final state. Latency runs from the scheduled submit time to
 * the result seen, so a backlog shows up in the numbers (no coordinated omission).
 */
export async function runAsyncOpenLoop(options: AsyncOpenLoopOptions): Promise<LoadResult> {
  const timeoutMs = options.timeoutMs ?? 120_000;
  const submit = new HttpTarget(new URL('/v1/jobs', options.baseUrl), { maxSockets: options.maxConnections ?? 256, timeoutMs });
  const eventsAgent = new Agent({ keepAlive: true });
  try {
    const recorder = await driveSchedule(options, (body) => submitAndWait(submit, eventsAgent, options.baseUrl, body, timeoutMs));
    return recorder.finish({ mode: 'async', offeredRate: options.rate });
  } finally {
    submit.close();
    eventsAgent.destroy();
  }
}
