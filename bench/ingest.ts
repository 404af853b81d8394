/**
 * pnpm bench:ingest — how fast the API alone accepts images, and whether its memory stays flat.
 *
 *   pnpm bench:ingest [--duration 60] [--warmup 15] [--clients 32] [--shared-redis]
 *
 * No worker runs: the API takes fixture images on POST /v1/jobs (multipart, keep-alive, closed
 * loop), writes each to Redis and enqueues its job, answers 202. Reports accepted images/s,
 * latency and the API's RSS (/proc/<pid>/status VmRSS) every second: first, last, max and the
 * least-squares slope in MB/min. MAX_QUEUE_DEPTH=0 (the queue only grows here) and
 * BLOB_TTL_SECONDS=10 (the minimum), so Redis holds ~10 s of image bytes, not the whole run.
 * Redis: a private redis-server on a free port (its memory is freed by ending it); with
 * --shared-redis, REDIS_URL instead. The run's keys are deleted afterwards either way.
 * Writes bench/results/ingest.json and the `ingest` section of docs/benchmarks.md.
 */
import { join } from 'node:path';
import type { HttpResponse } from './lib/http-target.js';
import { runClosedLoop } from './lib/closed-loop.js';
import { benchmarksDoc, resultsDir } from './lib/paths.js';
import { startRedisServer } from './lib/redis-stats.js';
import { fmt, machineInfo, markdownTable, numberList, parseArgs, writeDocSection, writeJson } from './lib/report.js';
import { linearSlope, sampleRss } from './lib/rss.js';
import { checkMaskqPresent, checkRedis, startMaskq } from './lib/targets.js';

const accepted = (res: HttpResponse): string | undefined => (res.status === 202 ? undefined : `HTTP ${res.status}`);

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const durationS = Number(args.get('duration') ?? 60);
  const warmupS = Number(args.get('warmup') ?? 15);
  const clientCounts = numberList(args.get('clients'), [32]);
  const sharedRedis = args.get('shared-redis') === 'true';
  checkMaskqPresent();

  const machine = machineInfo();
  console.log(`load average at start: ${machine.loadavg1m.toFixed(2)}`);
  const redisServer = sharedRedis ? undefined : await startRedisServer();
  const redisUrl = redisServer?.url ?? process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  const runs = [];
  try {
    await checkRedis(redisUrl);
    for (const clients of clientCounts) {
      const target = await startMaskq({ workers: 0, redisUrl, field: 'image', apiEnv: { MAX_QUEUE_DEPTH: '0', BLOB_TTL_SECONDS: '10' } });
      try {
        if (target.apiPid === undefined) throw new Error('the API has no pid');
        const rss = sampleRss(target.apiPid, 1000);
        const cpuBefore = target.cpuMs();
        const result = await runClosedLoop({
          url: `${target.baseUrl}/v1/jobs`,
          bodies: target.bodies,
          concurrency: clients,
          durationMs: durationS * 1000,
          warmupMs: warmupS * 1000,
          validate: accepted,
        });
        const apiCpuMsPerImage = (target.cpuMs() - cpuBefore) / Math.max(1, result.requests);
        // Memory over the measured minute only: during the warmup the heap grows to its working size.
        const memory = rss.stop(warmupS);
        const halfway = warmupS + durationS / 2;
        const secondHalfSlope = linearSlope(memory.samples.filter((p) => p.s >= halfway && Number.isFinite(p.mb)).map((p) => ({ x: p.s / 60, y: p.mb })));
        const series = memory.samples.filter((p, i) => i === 0 || Math.floor(p.s / 15) !== Math.floor((memory.samples[i - 1]?.s ?? 0) / 15));
        console.log(
          `  ${clients} clients: ${result.rps.toFixed(0)} images/s, p50 ${result.latency.p50.toFixed(1)} ms, p99 ${result.latency.p99.toFixed(1)} ms, errors ${result.errors}; ` +
            `RSS ${memory.firstMb.toFixed(0)} → ${memory.lastMb.toFixed(0)} MB (max ${memory.maxMb.toFixed(0)}, ${memory.slopeMbPerMin.toFixed(1)} MB/min)`,
        );
        runs.push({ clients, result, memory, apiCpuMsPerImage, secondHalfSlope, series });
      } finally {
        await target.stop();
      }
    }
  } finally {
    await redisServer?.stop();
  }

  const table = markdownTable(
    ['clients', 'images/s accepted', 'p50 ms', 'p95 ms', 'p99 ms', 'errors', 'API CPU ms/image', 'RSS at window start MB', 'RSS at end MB', 'RSS max MB', 'RSS slope MB/min (window)', 'slope, second half'],
    runs.map((r) => [
      String(r.clients),
      fmt(r.result.rps, 0),
      fmt(r.result.latency.p50, 1),
      fmt(r.result.latency.p95, 1),
      fmt(r.result.latency.p99, 1),
      String(r.result.errors),
      fmt(r.apiCpuMsPerImage, 2),
      fmt(r.memory.firstMb, 0),
      fmt(r.memory.lastMb, 0),
      fmt(r.memory.maxMb, 0),
      fmt(r.memory.slopeMbPerMin, 1),
      fmt(r.secondHalfSlope, 1),
    ]),
  );
  const seriesText = runs.map((r) => `RSS of the API, ${r.clients} clients (s: MB): ${r.series.map((p) => `${p.s.toFixed(0)}: ${p.mb.toFixed(0)}`).join(', ')}.`);
  console.log(`\n${table}\n`);
  writeJson(join(resultsDir, 'ingest.json'), { machine, settings: { durationS, warmupS, clientCounts, sharedRedis }, runs });
  writeDocSection(
    benchmarksDoc,
    'ingest',
    [
      '## Ingest: the API alone (`pnpm bench:ingest`)',
      '',
      `Measured ${machine.date.slice(0, 16).replace('T', ' ')} UTC on ${machine.cpus} × ${machine.cpuModel}, Node ${machine.node},`,
      `load average ${machine.loadavg1m.toFixed(2)} at the start. No worker: POST /v1/jobs (multipart, the 19 fixtures in turn,`,
      `keep-alive, closed loop), ${durationS} s after ${warmupS} s warmup; every 202 is an image in Redis and a job in the queue.`,
      `${sharedRedis ? 'Shared Redis' : 'A private redis-server'}; MAX_QUEUE_DEPTH=0, BLOB_TTL_SECONDS=10. RSS of the API process every second`,
      `(VmRSS); the memory columns cover the measured ${durationS} s after the warmup, in which the heap grows to its working`,
      'size (slope by least squares, MB per minute; also over the second half alone). The load generator and Redis share the',
      `machine's ${machine.cpus} cores with the API. Target (issue "Performance"): ≥ 2,000 images/s, p99 ≤ 50 ms, memory flat over a minute.`,
      '',
      table,
      '',
      ...seriesText,
    ].join('\n'),
  );
  console.log('wrote bench/results/ingest.json and docs/benchmarks.md (ingest section)');
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exitCode = 1;
});
