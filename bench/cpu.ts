/**
 * pnpm bench:cpu — where the CPU of one job goes: the API, each worker, Redis and the load generator
 * itself, per job, under the sync closed loop (POST /v1/detect) and the async open loop (POST /v1/jobs
 * + SSE). On a 2-core machine that runs all of them, the sum is what bounds throughput
 * (2,000 ms of CPU per second ÷ ms per job).
 *
 *   pnpm bench:cpu [--workers 2] [--clients 4,16] [--rates 60] [--duration 10] [--batch 2] [--async-batch 16]
 *                  [--events per-job,stream,stream-b8] [--repeat 1]
 *
 * Async results are followed on each job's own SSE stream (`per-job`) and/or on one `GET /v1/events`
 * stream for all jobs (`stream`); `stream-b<N>` submits N images per POST /v1/jobs/batch (at the same
 * images/s) and follows them on the one stream. With --repeat N the modes alternate N times and each
 * row is the median of its N runs (the per-part CPU medians taken separately). Costs are per job (image).
 * Workers run with INTRA_OP_THREADS=1 when there are several. API and workers: /proc CPU of their
 * process groups; Redis: `INFO cpu` (used_cpu_user + used_cpu_sys, the whole server: run it on a
 * Redis nothing else uses); the load generator: its own process.cpuUsage().
 * Writes bench/results/cpu.json and the `cpu` section of docs/benchmarks.md.
 */
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { runAsyncOpenLoop } from './lib/async-loop.js';
import { runClosedLoop } from './lib/closed-loop.js';
import type { LoadResult } from './lib/load-result.js';
import { benchmarksDoc, resultsDir } from './lib/paths.js';
import { loadFixtureBatchBodies } from './lib/fixtures.js';
import { processGroupCpuMs } from './lib/process-cpu.js';
import { fmt, machineInfo, markdownTable, numberList, parseArgs, writeDocSection, writeJson } from './lib/report.js';
import { checkMaskqPresent, checkRedis, startMaskq, type MaskqTarget } from './lib/targets.js';

interface Breakdown {
  load: string;
  batch: number;
  result: LoadResult;
  apiMs: number;
  workersMs: number;
  redisMs: number;
  clientMs: number;
}

interface EventMode {
  events: 'per-job' | 'stream';
  imagesPerRequest: number;
  /** how the row's load is described */
  load: string;
}

/** `per-job`, `stream`, or `stream-b<N>` (N images per POST /v1/jobs/batch, results on the one stream). */
function parseEventMode(mode: string): EventMode {
  if (mode === 'per-job') return { events: 'per-job', imagesPerRequest: 1, load: 'open loop + SSE per job' };
  if (mode === 'stream') return { events: 'stream', imagesPerRequest: 1, load: 'open loop + one /v1/events stream' };
  const batch = /^stream-b(\d+)$/.exec(mode);
  if (batch && Number(batch[1]) >= 1) {
    const n = Number(batch[1]);
    return { events: 'stream', imagesPerRequest: n, load: `open loop of POST /v1/jobs/batch × ${n} images + one /v1/events stream` };
  }
  throw new Error(`--events takes per-job, stream and stream-b<images per submission>, not ${mode}`);
}

async function redisCpuMs(redis: Redis): Promise<number> {
  const info = await redis.info('cpu');
  const field = (name: string) => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(info)?.[1] ?? Number.NaN);
  return (field('used_cpu_user') + field('used_cpu_sys')) * 1000;
}

async function measure(target: MaskqTarget, redis: Redis, load: string, batch: number, run: () => Promise<LoadResult>): Promise<Breakdown> {
  const api = () => processGroupCpuMs(target.apiPid === undefined ? [] : [target.apiPid]);
  const workers = () => processGroupCpuMs(target.workerPids.filter((p): p is number => p !== undefined));
  const [api0, workers0, redis0, client0] = [api(), workers(), await redisCpuMs(redis), process.cpuUsage()];
  const result = await run();
  const client = process.cpuUsage(client0);
  const jobs = Math.max(1, result.requests);
  const row: Breakdown = {
    load,
    batch,
    result,
    apiMs: (api() - api0) / jobs,
    workersMs: (workers() - workers0) / jobs,
    redisMs: ((await redisCpuMs(redis)) - redis0) / jobs,
    clientMs: (client.user + client.system) / 1000 / jobs,
  };
  const total = row.apiMs + row.workersMs + row.redisMs + row.clientMs;
  console.log(
    `  ${load}: ${result.rps.toFixed(1)} jobs/s; ms/job API ${row.apiMs.toFixed(2)}, workers ${row.workersMs.toFixed(2)}, Redis ${row.redisMs.toFixed(2)}, client ${row.clientMs.toFixed(2)} = ${total.toFixed(1)}`,
  );
  return row;
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

/** Several runs of one load: each part's median CPU per job; the run with the median jobs/s for the rest. */
function medianBreakdown(runs: Breakdown[]): Breakdown {
  const byRate = [...runs].sort((a, b) => a.result.rps - b.result.rps);
  const middle = byRate[(byRate.length - 1) >> 1]!;
  return {
    ...middle,
    load: runs.length > 1 ? `${middle.load}, median of ${runs.length}` : middle.load,
    apiMs: median(runs.map((r) => r.apiMs)),
    workersMs: median(runs.map((r) => r.workersMs)),
    redisMs: median(runs.map((r) => r.redisMs)),
    clientMs: median(runs.map((r) => r.clientMs)),
  };
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const workers = Number(args.get('workers') ?? 2);
  const clients = numberList(args.get('clients'), [4, 16]);
  const rates = numberList(args.get('rates'), [60]);
  const durationMs = Number(args.get('duration') ?? 10) * 1000;
  const syncBatch = Number(args.get('batch') ?? 2);
  const asyncBatch = Number(args.get('async-batch') ?? 16);
  const eventModes = (args.get('events') ?? 'per-job,stream').split(',').map((m) => parseEventMode(m.trim()));
  // Batch bodies built once per size, not for every run.
  const batchBodies = new Map(eventModes.filter((m) => m.imagesPerRequest > 1).map((m) => [m.imagesPerRequest, loadFixtureBatchBodies(m.imagesPerRequest)]));
  const repeat = Number(args.get('repeat') ?? 1);
  checkMaskqPresent();
  await checkRedis();
  const machine = machineInfo();
  console.log(`load average at start: ${machine.loadavg1m.toFixed(2)}`);

  const rows: Breakdown[] = [];
  const threads = workers > 1 ? { INTRA_OP_THREADS: '1' } : {};
  for (const [batch, kind] of [[syncBatch, 'sync'], [asyncBatch, 'async']] as const) {
    const target = await startMaskq({ workers, field: 'image', workerEnv: { ...threads, BATCH_MAX_SIZE: String(batch) } });
    const redis = new Redis(target.redisUrl);
    try {
      if (kind === 'sync') {
        for (const c of clients) {
          await runClosedLoop({ url: target.detectUrl, bodies: target.bodies, concurrency: c, durationMs: 3000, warmupMs: 0 }); // warm
          rows.push(await measure(target, redis, `sync, ${c} clients (closed loop)`, batch, () => runClosedLoop({ url: target.detectUrl, bodies: target.bodies, concurrency: c, durationMs, warmupMs: 0 })));
        }
      } else {
        for (const rate of rates) {
          await runAsyncOpenLoop({ baseUrl: target.baseUrl, bodies: target.bodies, rate, durationMs: 3000, warmupMs: 0 }); // warm
          const runs = new Map<string, Breakdown[]>();
          for (let i = 0; i < repeat; i++) {
            for (const { events, imagesPerRequest, load: how } of eventModes) {
              const load = `async, ${rate}/s (${how})`;
              const bodies = batchBodies.get(imagesPerRequest) ?? target.bodies;
              const row = await measure(target, redis, load, batch, () => runAsyncOpenLoop({ baseUrl: target.baseUrl, bodies, rate, durationMs, warmupMs: 0, events, imagesPerRequest }));
              runs.set(load, [...(runs.get(load) ?? []), row]);
            }
          }
          for (const same of runs.values()) rows.push(medianBreakdown(same));
        }
      }
    } finally {
      redis.disconnect();
      await target.stop();
    }
  }

  const table = markdownTable(
    ['load', 'BATCH_MAX_SIZE', 'jobs/s', 'p50 ms', 'p99 ms', 'API ms/job', 'workers ms/job', 'Redis ms/job', 'load generator ms/job', 'total ms/job', 'bound on 2 cores (jobs/s)'],
    rows.map((r) => {
      const total = r.apiMs + r.workersMs + r.redisMs + r.clientMs;
      return [r.load, String(r.batch), fmt(r.result.rps), fmt(r.result.latency.p50, 0), fmt(r.result.latency.p99, 0), fmt(r.apiMs, 2), fmt(r.workersMs, 2), fmt(r.redisMs, 2), fmt(r.clientMs, 2), fmt(total, 1), fmt((machine.cpus * 1000) / total, 0)];
    }),
  );
  console.log(`\n${table}\n`);
  writeJson(join(resultsDir, 'cpu.json'), { machine, settings: { workers, clients, rates, durationMs, syncBatch, asyncBatch, eventModes, repeat }, rows });
  writeDocSection(
    benchmarksDoc,
    'cpu',
    [
      '## Where the CPU of a job goes (`pnpm bench:cpu`)',
      '',
      `Measured ${machine.date.slice(0, 16).replace('T', ' ')} UTC on ${machine.cpus} × ${machine.cpuModel}, Node ${machine.node},`,
      `load average ${machine.loadavg1m.toFixed(2)} at the start. API + ${workers} worker process${workers > 1 ? 'es' : ''}${workers > 1 ? ' (INTRA_OP_THREADS=1 each)' : ''}, ${durationMs / 1000} s per row after 3 s of`,
      'warm-up load. CPU per completed job of each part: API and workers from /proc, Redis from `INFO cpu` (the',
      'whole server), the load generator from its own process. Everything shares the same cores, so the',
      'total bounds throughput: cores × 1,000 ms ÷ total ms per job.',
      '',
      table,
    ].join('\n'),
  );
  console.log('wrote bench/results/cpu.json and docs/benchmarks.md (cpu section)');
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exitCode = 1;
});
