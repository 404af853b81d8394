import type { JobState } from 'bullmq';
import { Router, type Response } from 'express';
import type { DetectJob, DetectJobReturn, JobResource, JobStatus } from '@maskq/shared';
import { canSee } from '../auth/authenticate.js';
import type { AppDeps } from '../deps.js';
import { notFound } from '../errors/http-error.js';
import { withRedis } from '../errors/redis-guard.js';
import { FinishedJobsFeed } from '../events/finished-jobs-feed.js';
import type { JobEvent, JobEventType } from '../events/job-events-hub.js';
import { findJob, jobResourceFor } from '../jobs/lookup.js';

const terminal = new Set<JobStatus>(['completed', 'failed', 'expired', 'cancelled']);

/** The state an event moved the job to; the event's, not a later read, so `processing` is never skipped. */
const stateOfEvent: Partial<Record<JobEventType, JobState>> = {
  waiting: 'waiting',
  delayed: 'delayed',
  active: 'active',
  completed: 'completed',
  failed: 'failed',
  stalled: 'waiting',
};

function writeEvent(res: Response, resource: JobResource | { id: string; status: JobStatus }): void {
  res.write(`event: ${resource.status}\ndata: ${JSON.stringify(resource)}\n\n`);
}

function startEventStream(res: Response): void {
  res.status(200).set({
    'Content-Type': 'text/event-stream; charset=utf-8',
    'Cache-Control': 'no-cache, no-transform',
    Connection: 'keep-alive',
    'X-Accel-Buffering': 'no',
  });
  res.flushHeaders();
}

/** A reader this far behind is not reading: its stream ends (it reconnects and polls what it missed). */
const MAX_UNREAD_BYTES = 4 * 1024 * 1024;

/**
 * `GET /v1/jobs/:id/events`: server-sent events. The current state at once,
 * then every change, then the stream ends on a final state. Changes come from
 * the process's JobEventsHub (a Redis stream), so any API replica can serve it.
 */
export function jobEventsRouter(deps: AppDeps): Router {
  const router = Router();
  const finishedJobs = new FinishedJobsFeed(deps);

  /**
   * `GET /v1/events`: one stream for all of the caller's jobs. Each job that finishes from now
   * on, as its final job resource (event name = status: completed, failed, expired, cancelled).
   * Open it before submitting; jobs that finished while it was closed are read with
   * `GET /v1/jobs/:id`. With API keys, a caller sees only its own jobs.
   */
  router.get('/v1/events', (req, res) => {
    // Subscribed before the headers go out: whoever has seen them cannot miss a later finish.
    let ended = false;
    const heartbeat = setInterval(() => res.write(': heartbeat\n\n'), deps.config.SSE_HEARTBEAT_MS);
    const unsubscribe = finishedJobs.subscribe((finished) => {
      if (ended) return;
      if (finished === 'closed') return end();
      const visible = finished.removed ? req.principal === undefined : canSee(req, finished.owner);
      if (!visible) return;
      writeEvent(res, finished.resource);
      if (res.writableLength > MAX_UNREAD_BYTES) {
        req.log?.warn({ unreadBytes: res.writableLength }, 'event stream: the reader is not reading; dropping it');
        end(true);
      }
    });
    // A reader that stopped reading is cut off (destroy frees what is buffered for it); others get a clean end.
    const end = (drop = false) => {
      if (ended) return;
      ended = true;
      clearInterval(heartbeat);
      unsubscribe();
      if (drop) res.destroy();
      else res.end();
    };
    res.on('close', () => end());
    startEventStream(res);
  });

  router.get('/v1/jobs/:id/events', async (req, res) => {
    const id = req.params.id;
    // Subscribe before reading the state, buffering, so a change between the two is not lost.
    const pending: JobEvent[] = [];
    const live: { handle?: (event: JobEvent) => void } = {};
    const unsubscribe = deps.events.subscribe(id, (event) => (live.handle ? live.handle(event) : pending.push(event)));
    let found: Awaited<ReturnType<typeof findJob>>;
    try {
      found = await findJob(deps, id);
    } catch (err) {
      unsubscribe();
      throw err;
    }
    if (!found || found.state === 'unknown' || !canSee(req, found.job.data.owner)) {
      unsubscribe();
      throw notFound(`no job ${id}`);
    }

    startEventStream(res);

    let lastStatus: JobStatus | undefined;
    let ended = false;
    const heartbeat = setInterval(() => res.write(': heartbeat\n\n'), deps.config.SSE_HEARTBEAT_MS);
    const end = () => {
      if (ended) return;
      ended = true;
      clearInterval(heartbeat);
      unsubscribe();
      res.end();
    };
    res.on('close', end);

    const send = async (job: DetectJob, state: JobState | 'unknown') => {
      if (ended) return;
      const resource = await jobResourceFor(deps, job, state);
      if (ended) return;
      if (resource.status !== lastStatus) {
        lastStatus = resource.status;
        writeEvent(res, resource);
      }
      if (terminal.has(resource.status)) end();
    };

    try {
      await send(found.job, found.state);
    } catch (err) {
      req.log?.warn({ err }, 'job events: could not read webhook state');
      end();
      return;
    }
    if (ended) return;

    // Events are applied one at a time, in arrival order.
    let chain = Promise.resolve();
    let current = found.job;
    live.handle = (event) => {
      chain = chain.then(async () => {
        if (ended) return;
        if (event.type === 'closed') return end();
        if (event.type === 'removed') {
          lastStatus = 'cancelled';
          writeEvent(res, { id, status: 'cancelled' });
          return end();
        }
        const state = stateOfEvent[event.type];
        if (!state) return;
        try {
          if (event.type === 'completed' && event.returnvalue) {
            // The event carries the result, and a completed job's resource takes its times from
            // the result too: no need to read the job again.
            current.returnvalue = event.returnvalue as DetectJobReturn;
            await send(current, state);
            return;
          }
          const job = (await withRedis(deps.config.API_REDIS_TIMEOUT_MS, () => deps.detectQueue.getJob(id))) as DetectJob | undefined;
          if (!job) return;
          current = job;
          await send(job, state);
        } catch (err) {
          req.log?.warn({ err }, 'job events: could not read job');
        }
      });
    };
    for (const event of pending.splice(0)) live.handle(event);
  });

  return router;
}
