/**
 * pnpm bench:compare — maskq against the seed design, measured in the same session.
 *
 *   pnpm bench:compare [--only seed|maskq] [--clients 4,16] [--runs 3] [--duration 10] [--warmup 3]
 *                      [--rates 10,20,30,40,50,60,80,100] [--open-duration 8] [--no-open] [--async]
 *                      [--maskq-workers 2] [--int8]
 *
 * --int8 adds a third system: maskq serving the optional INT8 model (models/face-mask/1.0.0-int8).
 * maskq's side defaults to this machine's recommended setup for 2 cores: 2 worker processes with
 * INTRA_OP_THREADS=1 and BATCH_MAX_SIZE=2 each (the environment overrides both).
 *
 * 1. Closed loop, alternating systems run by run (seed, maskq, seed, maskq...) so drift in the
 *    machine's load hits both alike: medians, and the ratio maskq/seed from this session.
 * 2. Open loop at fixed rates (Poisson arrivals, latency from the scheduled send time) for a
 *    latency-vs-throughput chart (docs/benchmarks-latency.svg). A system stops climbing once it
 *    is saturated (achieved < 80 % of offered, or p99 > 5 s).
 * 3. With --async (maskq only): POST /v1/jobs + SSE until the result, submit → result seen.
 *
 * maskq runs as `packages/api/src/main.ts` + `packages/worker/src/main.ts` under a fresh
 * QUEUE_PREFIX (REDIS_URL, default redis://127.0.0.1:6379); the seed as bench/seed/app.py.
 * Writes bench/results/compare.json and the `compare` section of docs/benchmarks.md.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runAsyncClosedLoop } from './lib/async-loop.js';
import { latencyThroughputSvg, type ChartSeries } from './lib/chart.js';
import type { LoadResult } from './lib/load-result.js';
import { runOpenLoop } from './lib/open-loop.js';
import { benchmarksDoc, docsDir, repoRoot, resultsDir } from './lib/paths.js';
import { fmt, machineInfo, markdownTable, numberList, parseArgs, writeDocSection, writeJson } from './lib/report.js';
import { aggregate, closedRun, type ClosedAggregate } from './lib/suite.js';
import { checkMaskqPresent, checkRedis, checkSeedDependencies, startMaskq, startSeed, type RunningTarget } from './lib/targets.js';

type SystemName = 'seed' | 'maskq' | 'maskq-int8';
const colors: Record<SystemName, string> = { seed: '#d62728', maskq: '#1f77b4', 'maskq-int8': '#2ca02c' };
/** The optional INT8 model (`pnpm convert --int8`), for `--int8`. */
const int8ModelDir = join(repoRoot, 'models', 'face-mask', '1.0.0-int8');

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const only = args.get('only');
  if (only !== undefined && only !== 'seed' && only !== 'maskq') throw new Error(`--only takes seed or maskq, not ${only}`);
  const withInt8 = args.get('int8') === 'true';
  const systems: SystemName[] = only ? [only] : ['seed', 'maskq'];
  if (withInt8) systems.push('maskq-int8');
  const clients = numberList(args.get('clients'), [4, 16]);
  const runs = Number(args.get('runs') ?? 3);
  const closed = { durationMs: Number(args.get('duration') ?? 10) * 1000, warmupMs: Number(args.get('warmup') ?? 3) * 1000 };
  const rates = numberList(args.get('rates'), [10, 20, 30, 40, 50, 60, 80, 100]);
  const open = { durationMs: Number(args.get('open-duration') ?? 8) * 1000, warmupMs: 2000 };
  const doOpen = args.get('no-open') !== 'true';
  const doAsync = args.get('async') === 'true';
  const maskqWorkers = Number(args.get('maskq-workers') ?? 2);
  const maskqWorkerEnv = { INTRA_OP_THREADS: process.env.INTRA_OP_THREADS ?? '1', BATCH_MAX_SIZE: process.env.BATCH_MAX_SIZE ?? '2' };

  // Fail before starting anything when a side cannot run.
  if (systems.includes('seed')) checkSeedDependencies();
  if (systems.includes('maskq')) {
    checkMaskqPresent();
    await checkRedis();
  }

  const machine = machineInfo();
  const running = new Map<SystemName, RunningTarget>();
  const closedRaw: Record<string, LoadResult[]> = {};
  const openRaw: Record<string, LoadResult[]> = {};
  let asyncResults: LoadResult[] = [];
  try {
    for (const name of systems) {
      console.log(`starting ${name}...`);
      const start = (): Promise<RunningTarget> => {
        if (name === 'seed') return startSeed();
        if (name === 'maskq') return startMaskq({ workers: maskqWorkers, workerEnv: maskqWorkerEnv });
        return startMaskq({ workers: maskqWorkers, workerEnv: { ...maskqWorkerEnv, MODEL_DIR: int8ModelDir }, apiEnv: { MODEL_DIR: int8ModelDir } }).then((t) => ({ ...t, name: 'maskq-int8' }));
      };
      running.set(name, await start());
    }
    console.log(`closed loop: ${runs} runs × ${closed.durationMs / 1000} s (+${closed.warmupMs / 1000} s warmup), clients ${clients.join(', ')}, alternating ${systems.join('/')}`);
    for (let run = 0; run < runs; run++) {
      for (const c of clients) {
        // Alternate which system goes first, so neither always follows the other.
        const order = run % 2 ? [...systems].reverse() : systems;
        for (const name of order) (closedRaw[`${name}@${c}`] ??= []).push(await closedRun(running.get(name) as RunningTarget, c, closed));
      }
    }
    if (doOpen) {
      console.log(`open loop (Poisson): ${open.durationMs / 1000} s per rate at ${rates.join(', ')} req/s`);
      for (const name of systems) {
        const target = running.get(name) as RunningTarget;
        for (const rate of rates) {
          const r = await runOpenLoop({ url: target.detectUrl, bodies: target.bodies, rate, ...open, timeoutMs: 30_000 });
          (openRaw[name] ??= []).push(r);
          console.log(`  ${name.padEnd(5)} ${String(rate).padStart(4)}/s offered: ${r.rps.toFixed(1)} req/s, p50 ${r.latency.p50.toFixed(0)} ms, p99 ${r.latency.p99.toFixed(0)} ms, errors ${r.errors}`);
          if (r.rps < 0.8 * rate || r.latency.p99 > 5000) {
            console.log(`  ${name} saturated at ${rate}/s: higher rates skipped`);
            break;
          }
        }
      }
    }
    const maskq = running.get('maskq');
    if (doAsync && maskq) {
      console.log('async (POST /v1/jobs + SSE), maskq:');
      asyncResults = [];
      for (const c of clients) {
        const r = await runAsyncClosedLoop({ baseUrl: maskq.baseUrl, bodies: maskq.bodies, concurrency: c, ...closed });
        console.log(`  maskq async c=${c}: ${r.rps.toFixed(1)} jobs/s, p50 ${r.latency.p50.toFixed(0)} ms, p99 ${r.latency.p99.toFixed(0)} ms, errors ${r.errors}`);
        asyncResults.push(r);
      }
    }
  } finally {
    for (const target of running.values()) await target.stop();
  }

  const rows: ClosedAggregate[] = clients.flatMap((c) => systems.map((name) => aggregate(name, c, closedRaw[`${name}@${c}`] ?? [])));
  const ratioOf = (system: SystemName, c: number) => {
    const seed = rows.find((r) => r.system === 'seed' && r.concurrency === c);
    const mq = rows.find((r) => r.system === system && r.concurrency === c);
    return { system, concurrency: c, rpsRatio: seed && mq ? mq.rps / seed.rps : Number.NaN, p99Ratio: seed && mq ? mq.p99 / seed.p99 : Number.NaN };
  };
  const ratios = clients.flatMap((c) => systems.filter((name) => name !== 'seed').map((name) => ratioOf(name, c)));
  const closedTable = markdownTable(
    ['clients', 'system', 'req/s (median)', 'req/s per run', 'p50 ms', 'p95 ms', 'p99 ms', 'errors', 'server CPU ms/req', 'maskq/seed req/s'],
    rows.map((r) => [
      String(r.concurrency),
      r.system,
      fmt(r.rps),
      r.rpsPerRun.join(', '),
      fmt(r.p50, 0),
      fmt(r.p95, 0),
      fmt(r.p99, 0),
      String(r.errors),
      fmt(r.serverCpuMsPerRequest),
      r.system !== 'seed' ? `${fmt(ratios.find((x) => x.system === r.system && x.concurrency === r.concurrency)?.rpsRatio ?? Number.NaN, 2)}×` : '',
    ]),
  );
  console.log(`\n${closedTable}\n`);

  const openTable = doOpen
    ? markdownTable(
        ['system', 'offered/s', 'achieved req/s', 'p50 ms', 'p99 ms', 'errors'],
        systems.flatMap((name) => (openRaw[name] ?? []).map((r) => [name, String(r.offeredRate), fmt(r.rps), fmt(r.latency.p50, 0), fmt(r.latency.p99, 0), String(r.errors)])),
      )
    : '';
  if (openTable) console.log(`${openTable}\n`);
  const asyncTable = asyncResults.length
    ? markdownTable(
        ['clients', 'jobs/s', 'p50 ms', 'p99 ms', 'errors'],
        asyncResults.map((r) => [String(r.concurrency), fmt(r.rps), fmt(r.latency.p50, 0), fmt(r.latency.p99, 0), String(r.errors)]),
      )
    : '';
  if (asyncTable) console.log(`${asyncTable}\n`);

  const chartFile = 'benchmarks-latency.svg';
  if (doOpen) {
    const series: ChartSeries[] = systems.map((name) => ({
      name,
      color: colors[name],
      points: (openRaw[name] ?? []).map((r) => ({ rps: r.rps, p50: r.latency.p50, p99: r.latency.p99, offered: r.offeredRate ?? 0 })),
    }));
    writeFileSync(join(docsDir, chartFile), latencyThroughputSvg(series, `Latency vs throughput, open loop (${systems.join(' vs ')})`));
  }

  writeJson(join(resultsDir, 'compare.json'), {
    machine,
    settings: { systems, clients, runs, closed, rates, open: doOpen ? open : null, async: doAsync },
    closed: rows,
    ratios,
    open: openRaw,
    async: asyncResults,
    closedRaw,
  });
  const p99At16 = rows.filter((r) => r.concurrency === 16).map((r) => `${r.system} ${fmt(r.p99, 0)} ms`).join(', ');
  writeDocSection(
    benchmarksDoc,
    'compare',
    [
      `## ${systems.join(' vs ')} (\`pnpm bench:compare${only ? ` --only ${only}` : ''}\`)`,
      '',
      `Measured ${machine.date.slice(0, 16).replace('T', ' ')} UTC on ${machine.cpus} × ${machine.cpuModel}, Node ${machine.node},`,
      `load average ${machine.loadavg1m.toFixed(2)} at the start. Both systems ran side by side in one session; closed-loop`,
      `runs alternate between them (${runs} run(s) × ${closed.durationMs / 1000} s after ${closed.warmupMs / 1000} s warmup, medians), so the`,
      'ratio is measured under the same conditions. Seed: `POST /detect`; maskq: `POST /v1/detect`',
      `(API + ${maskqWorkers} worker process${maskqWorkers > 1 ? 'es' : ''}, INTRA_OP_THREADS=${maskqWorkerEnv.INTRA_OP_THREADS}, BATCH_MAX_SIZE=${maskqWorkerEnv.BATCH_MAX_SIZE}, the served FP32 model, graph level \`all\`)${withInt8 ? ';' : '.'}`,
      ...(withInt8 ? ['maskq-int8: the same with the optional INT8 model (models/face-mask/1.0.0-int8, not the default: see "INT8 vs FP32").'] : []),
      '',
      '### Closed loop (sync detect)',
      '',
      closedTable,
      '',
      p99At16 ? `p99 at 16 clients: ${p99At16}.` : '',
      '',
      'Server CPU ms/req: CPU time of all the system\'s processes (seed: uvicorn and its workers; maskq: API and',
      'workers; Redis not counted) over the measured window per answer; it moves less with other load than req/s.',
      ...(doOpen
        ? [
            '',
            '### Latency vs throughput (open loop)',
            '',
            `Poisson arrivals, ${open.durationMs / 1000} s per rate after ${open.warmupMs / 1000} s warmup; latency from the scheduled send time`,
            '(no coordinated omission). Points past saturation show the queue growing.',
            '',
            `![latency vs throughput](${chartFile})`,
            '',
            openTable,
          ]
        : []),
      ...(asyncTable ? ['', '### maskq async (POST /v1/jobs, result seen on SSE)', '', asyncTable] : []),
    ].join('\n'),
  );
  console.log(`wrote bench/results/compare.json, docs/${doOpen ? `${chartFile} and docs/` : ''}benchmarks.md (compare section)`);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exitCode = 1;
});
