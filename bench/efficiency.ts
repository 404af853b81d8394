/**
 * pnpm bench:efficiency — Redis commands, round trips and bytes per job.
 *
 *   pnpm bench:efficiency [--jobs 500] [--batch-size 50] [--clients 16] [--idle 5]
 *
 * Runs on a private redis-server (free port, no persistence), so INFO commandstats counts only
 * this run. Two phases:
 *   A. the API alone (no worker): the commands of accepting jobs, single POST /v1/jobs and
 *      POST /v1/jobs/batch; MEMORY USAGE of a queued job (BullMQ hash) and its blob.
 *   B. API + one worker: `--jobs` jobs submitted one by one (--clients in parallel), then again in
 *      batches of --batch-size, each to completion (the worker's maskq_jobs_completed_total,
 *      read over HTTP, not Redis); counters before/after give commands per job by command.
 *      The idle background (BullMQ's blocking waits, timers) is measured first over --idle s.
 * Writes bench/results/efficiency.json and the `efficiency` section of docs/benchmarks.md.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { fixtureImagesDir } from './lib/fixtures.js';
import { HttpTarget } from './lib/http-target.js';
import { buildMultipartFiles, type MultipartBody } from './lib/multipart.js';
import { benchmarksDoc, resultsDir } from './lib/paths.js';
import { parseCounter, scrape } from './lib/prometheus.js';
import { commandDelta, redisCounters, startRedisServer, type RedisCounters } from './lib/redis-stats.js';
import { fmt, machineInfo, markdownTable, parseArgs, writeDocSection, writeJson } from './lib/report.js';
import { checkMaskqPresent, startMaskq, type MaskqTarget } from './lib/targets.js';

interface Window {
  label: string;
  jobs: number;
  seconds: number;
  commands: Array<{ command: string; calls: number }>;
  total: number;
  connections: number;
  netInputBytes: number;
  netOutputBytes: number;
}

function windowOf(label: string, jobs: number, seconds: number, before: RedisCounters, after: RedisCounters): Window {
  const commands = commandDelta(after.commands, before.commands).filter((c) => c.command !== 'info');
  // The two INFO calls of the `after` snapshot are ours, not the system's.
  return {
    label,
    jobs,
    seconds,
    commands,
    total: after.totalCommands - before.totalCommands - 2,
    connections: after.connections - before.connections,
    netInputBytes: after.netInputBytes - before.netInputBytes,
    netOutputBytes: after.netOutputBytes - before.netOutputBytes,
  };
}

function fixtureFiles(): Array<{ name: string; data: Buffer; type: string }> {
  const types: Record<string, string> = { '.jpg': 'image/jpeg', '.jpeg': 'image/jpeg', '.png': 'image/png', '.webp': 'image/webp' };
  return readdirSync(fixtureImagesDir)
    .filter((n) => extname(n).toLowerCase() in types)
    .sort()
    .map((name) => ({ name, data: readFileSync(join(fixtureImagesDir, name)), type: types[extname(name).toLowerCase()] as string }));
}

/** Bodies of POST /v1/jobs/batch with `size` images each, the fixtures in turn. */
function batchBodies(size: number, count: number): MultipartBody[] {
  const files = fixtureFiles();
  return Array.from({ length: count }, (_, b) =>
    buildMultipartFiles(
      Array.from({ length: size }, (_, i) => {
        const f = files[(b * size + i) % files.length] as (typeof files)[number];
        return { field: 'images', filename: f.name, contentType: f.type, data: f.data };
      }),
    ),
  );
}

/** Submits `jobs` images one per POST /v1/jobs, `clients` at a time; returns the job ids. */
async function submitSingles(target: MaskqTarget, jobs: number, clients: number): Promise<string[]> {
  const http = new HttpTarget(`${target.baseUrl}/v1/jobs`, { maxSockets: clients, timeoutMs: 30_000 });
  const ids: string[] = [];
  let next = 0;
  try {
    await Promise.all(
      Array.from({ length: clients }, async () => {
        while (next < jobs) {
          const body = target.bodies[next++ % target.bodies.length] as MultipartBody;
          const res = await http.post(body);
          if (res.status !== 202) throw new Error(`POST /v1/jobs: HTTP ${res.status} ${res.body.toString('utf8').slice(0, 200)}`);
          ids.push((JSON.parse(res.body.toString('utf8')) as { id: string }).id);
        }
      }),
    );
  } finally {
    http.close();
  }
  return ids;
}

/** Submits `jobs` images in POST /v1/jobs/batch requests of `size`, one request at a time. */
async function submitBatches(target: MaskqTarget, jobs: number, size: number): Promise<string[]> {
  const http = new HttpTarget(`${target.baseUrl}/v1/jobs/batch`, { maxSockets: 1, timeoutMs: 30_000 });
  const ids: string[] = [];
  try {
    for (const body of batchBodies(size, Math.ceil(jobs / size))) {
      const res = await http.post(body);
      if (res.status !== 202) throw new Error(`POST /v1/jobs/batch: HTTP ${res.status} ${res.body.toString('utf8').slice(0, 200)}`);
      for (const entry of (JSON.parse(res.body.toString('utf8')) as { jobs: Array<{ id?: string }> }).jobs) if (entry.id) ids.push(entry.id);
    }
  } finally {
    http.close();
  }
  return ids;
}

async function completedSoFar(target: MaskqTarget): Promise<number> {
  const texts = await Promise.all(target.workerMetricsUrls.map(scrape));
  return texts.reduce((sum, t) => sum + parseCounter(t, 'maskq_jobs_completed_total') + parseCounter(t, 'maskq_jobs_failed_total'), 0);
}

async function waitForCompleted(target: MaskqTarget, count: number, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while ((await completedSoFar(target)) < count) {
    if (performance.now() > deadline) throw new Error(`fewer than ${count} jobs finished after ${timeoutMs} ms`);
    await sleep(100);
  }
}

interface Footprint {
  jobHashBytes: number;
  blobBytes: number;
  blobsPresent: number;
  imageBytes: number;
  sampled: number;
}

/** Median MEMORY USAGE of the jobs' BullMQ hashes and blobs (absent keys count as 0). */
async function footprint(redis: Redis, prefix: string, ids: readonly string[]): Promise<Footprint> {
  const sample = ids.slice(0, 20);
  const jobs: number[] = [];
  const blobs: number[] = [];
  const images: number[] = [];
  let present = 0;
  for (const id of sample) {
    jobs.push(Number((await redis.call('MEMORY', 'USAGE', `{${prefix}}:detect:${id}`, 'SAMPLES', '0')) ?? 0));
    const blob = await redis.call('MEMORY', 'USAGE', `${prefix}:blob:{${id}}`, 'SAMPLES', '0');
    if (blob !== null) present++;
    blobs.push(Number(blob ?? 0));
    images.push(Number(await redis.strlen(`${prefix}:blob:{${id}}`)));
  }
  const median = (v: number[]): number => {
    const s = [...v].sort((a, b) => a - b);
    return s.length ? (s[s.length >> 1] as number) : Number.NaN;
  };
  return { jobHashBytes: median(jobs), blobBytes: median(blobs), blobsPresent: present, imageBytes: median(images), sampled: sample.length };
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const jobs = Number(args.get('jobs') ?? 500);
  const batchSize = Number(args.get('batch-size') ?? 50);
  const clients = Number(args.get('clients') ?? 16);
  const idleS = Number(args.get('idle') ?? 5);
  const sampleJobs = Math.min(jobs, 100);
  checkMaskqPresent();
  const machine = machineInfo();
  console.log(`load average at start: ${machine.loadavg1m.toFixed(2)}`);

  const server = await startRedisServer();
  const redis = new Redis(server.url, { maxRetriesPerRequest: 1 });
  const windows: Window[] = [];
  let queued: Footprint | undefined;
  let finished: Footprint | undefined;
  let idle: Window | undefined;
  try {
    // A. The API alone: what accepting costs, and what a queued job occupies.
    const api = await startMaskq({ workers: 0, redisUrl: server.url, field: 'image', apiEnv: { MAX_QUEUE_DEPTH: '0' } });
    try {
      let before = await redisCounters(redis);
      let t0 = performance.now();
      const singleIds = await submitSingles(api, sampleJobs, clients);
      windows.push(windowOf('API only: POST /v1/jobs', singleIds.length, (performance.now() - t0) / 1000, before, await redisCounters(redis)));
      before = await redisCounters(redis);
      t0 = performance.now();
      const batchIds = await submitBatches(api, sampleJobs, batchSize);
      windows.push(windowOf(`API only: POST /v1/jobs/batch (${batchSize})`, batchIds.length, (performance.now() - t0) / 1000, before, await redisCounters(redis)));
      queued = await footprint(redis, api.prefix, singleIds);
    } finally {
      await api.stop();
    }

    // B. API + one worker, every job to completion.
    const target = await startMaskq({ workers: 1, redisUrl: server.url, field: 'image', apiEnv: { MAX_QUEUE_DEPTH: '0' } });
    try {
      let before = await redisCounters(redis);
      await sleep(idleS * 1000);
      idle = windowOf('idle (API + worker, no jobs)', 0, idleS, before, await redisCounters(redis));
      for (const mode of ['single', 'batch'] as const) {
        const done = await completedSoFar(target);
        before = await redisCounters(redis);
        const t0 = performance.now();
        const ids = mode === 'single' ? await submitSingles(target, jobs, clients) : await submitBatches(target, jobs, batchSize);
        await waitForCompleted(target, done + ids.length, 300_000);
        const label = mode === 'single' ? `API + worker: POST /v1/jobs (${clients} clients)` : `API + worker: POST /v1/jobs/batch (${batchSize})`;
        windows.push(windowOf(label, ids.length, (performance.now() - t0) / 1000, before, await redisCounters(redis)));
        console.log(`  ${label}: ${ids.length} jobs`);
        if (mode === 'single') finished = await footprint(redis, target.prefix, ids);
      }
    } finally {
      await target.stop();
    }
  } finally {
    redis.disconnect();
    await server.stop();
  }

  // Commands per job by command, one column per window.
  const all = [...new Set(windows.flatMap((w) => w.commands.map((c) => c.command)))];
  const callsIn = (w: Window, command: string): number => w.commands.find((c) => c.command === command)?.calls ?? 0;
  all.sort((a, b) => windows.reduce((s, w) => s + callsIn(w, b) / Math.max(1, w.jobs), 0) - windows.reduce((s, w) => s + callsIn(w, a) / Math.max(1, w.jobs), 0));
  const idleRate = (command: string): number => (idle ? callsIn(idle, command) / idle.seconds : 0);
  const perJobTable = markdownTable(
    ['command', ...windows.map((w) => w.label), 'idle calls/s'],
    [
      ...all.map((command) => [command, ...windows.map((w) => fmt(callsIn(w, command) / w.jobs, 2)), fmt(idleRate(command), 2)]),
      ['**total commands / job**', ...windows.map((w) => `**${fmt(w.total / w.jobs, 2)}**`), idle ? fmt(idle.total / idle.seconds, 2) : '–'],
      ['bytes to Redis / job', ...windows.map((w) => fmt(w.netInputBytes / w.jobs, 0)), idle ? fmt(idle.netInputBytes / idle.seconds, 0) : '–'],
      ['bytes from Redis / job', ...windows.map((w) => fmt(w.netOutputBytes / w.jobs, 0)), idle ? fmt(idle.netOutputBytes / idle.seconds, 0) : '–'],
      ['jobs (seconds)', ...windows.map((w) => `${w.jobs} (${fmt(w.seconds, 1)} s)`), idle ? `(${idle.seconds} s)` : '–'],
    ],
  );
  const bytesTable = markdownTable(
    ['state', 'job hash (BullMQ) bytes', 'blob bytes', 'image bytes (STRLEN)', 'blobs present', 'sampled jobs'],
    [
      ['queued (API only)', queued],
      ['completed', finished],
    ]
      .filter((r): r is [string, Footprint] => r[1] !== undefined)
      .map(([state, f]) => [state, fmt(f.jobHashBytes, 0), fmt(f.blobBytes, 0), fmt(f.imageBytes, 0), `${f.blobsPresent}/${f.sampled}`, String(f.sampled)]),
  );
  console.log(`\n${perJobTable}\n\n${bytesTable}\n`);
  writeJson(join(resultsDir, 'efficiency.json'), { machine, settings: { jobs, batchSize, clients, idleS }, windows, idle, footprint: { queued, completed: finished } });
  writeDocSection(
    benchmarksDoc,
    'efficiency',
    [
      '## Redis commands and bytes per job (`pnpm bench:efficiency`)',
      '',
      `Measured ${machine.date.slice(0, 16).replace('T', ' ')} UTC on ${machine.cpus} × ${machine.cpuModel}, load average ${machine.loadavg1m.toFixed(2)} at the start.`,
      'A private redis-server, so `INFO commandstats` / `total_commands_processed` count only this run (before and',
      `after each window; our own INFO calls removed). "API only": the API with no worker, ${sampleJobs} jobs accepted. "API +`,
      `worker": ${jobs} jobs submitted and run to completion by one worker (default batching). commandstats also counts the`,
      'commands BullMQ\'s Lua scripts run inside one EVALSHA (most HMSET/ZADD/LPUSH/HGET/EXISTS/INCR rows), so client round',
      'trips are far fewer than the total; pipelines and MULTI cut them further. The idle column',
      'is the background rate with nothing to do (blocking waits, stalled-job checks, cleaners); a window of T seconds',
      'includes about T × that.',
      '',
      perJobTable,
      '',
      'Bytes stored per job (`MEMORY USAGE ... SAMPLES 0`, median of the sampled jobs):',
      '',
      bytesTable,
    ].join('\n'),
  );
  console.log('wrote bench/results/efficiency.json and docs/benchmarks.md (efficiency section)');
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exitCode = 1;
});
