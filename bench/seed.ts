/**
 * pnpm bench:seed — the seed design (FastAPI + OpenCV DNN, inference inline, uvicorn 2 workers)
 * under a closed loop, as the shared README measured it with wrk.
 *
 *   pnpm bench:seed [--clients 4,16] [--runs 3] [--duration 10] [--warmup 3]
 *
 * Prints a table, writes bench/results/seed.json and the `seed` section of docs/benchmarks.md.
 */
import { join } from 'node:path';
import { aggregate, closedRun, type ClosedAggregate } from './lib/suite.js';
import { fmt, machineInfo, markdownTable, numberList, parseArgs, writeDocSection, writeJson } from './lib/report.js';
import { benchmarksDoc, resultsDir } from './lib/paths.js';
import { startSeed } from './lib/targets.js';
import type { LoadResult } from './lib/load-result.js';

/** The shared README's numbers for this design (wrk, closed loop, quiet 2-core machine). */
const reference: Record<number, string> = { 4: '55–58 req/s, p99 145 ms', 16: '55–58 req/s, p99 630–690 ms' };

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const clients = numberList(args.get('clients'), [4, 16]);
  const runs = Number(args.get('runs') ?? 3);
  const settings = { durationMs: Number(args.get('duration') ?? 10) * 1000, warmupMs: Number(args.get('warmup') ?? 3) * 1000 };

  console.log(`seed: starting uvicorn (2 workers); ${runs} runs × ${settings.durationMs / 1000} s (+${settings.warmupMs / 1000} s warmup) at ${clients.join(', ')} clients`);
  const machine = machineInfo();
  const seed = await startSeed();
  const raw: Record<number, LoadResult[]> = {};
  try {
    for (let run = 0; run < runs; run++) {
      for (const c of clients) (raw[c] ??= []).push(await closedRun(seed, c, settings));
    }
  } finally {
    await seed.stop();
  }

  const rows: ClosedAggregate[] = clients.map((c) => aggregate('seed', c, raw[c] ?? []));
  const table = markdownTable(
    ['clients', 'req/s (median)', 'req/s per run', 'p50 ms', 'p95 ms', 'p99 ms', 'errors', 'server CPU ms/req', 'shared README'],
    rows.map((r) => [String(r.concurrency), fmt(r.rps), r.rpsPerRun.join(', '), fmt(r.p50, 0), fmt(r.p95, 0), fmt(r.p99, 0), String(r.errors), fmt(r.serverCpuMsPerRequest), reference[r.concurrency] ?? '']),
  );
  console.log(`\n${table}\n`);

  writeJson(join(resultsDir, 'seed.json'), { machine, settings: { runs, ...settings, clients }, results: rows, raw });
  writeDocSection(
    benchmarksDoc,
    'seed',
    [
      '## The seed design alone (`pnpm bench:seed`)',
      '',
      'FastAPI + uvicorn (2 workers), the original Caffe model under OpenCV DNN inline in the request',
      '(`bench/seed/app.py`). Closed loop over the 19 fixture images, keep-alive, one request in flight',
      `per client; ${runs} run(s) × ${settings.durationMs / 1000} s after ${settings.warmupMs / 1000} s warmup, medians.`,
      `Measured ${machine.date.slice(0, 16).replace('T', ' ')} UTC on ${machine.cpus} × ${machine.cpuModel}, Node ${machine.node},`,
      `load average ${machine.loadavg1m.toFixed(2)} at the start (a shared machine: compare numbers from one run only).`,
      '',
      table,
      '',
      'Server CPU per request is the CPU time of all the seed\'s processes over the measured window divided by',
      `the answers: it moves much less with other load than req/s does. ${machine.cpus} cores / CPU per request bounds`,
      'what this design can reach on an otherwise idle machine.',
    ].join('\n'),
  );
  console.log('wrote bench/results/seed.json and the seed section of docs/benchmarks.md');
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exitCode = 1;
});
