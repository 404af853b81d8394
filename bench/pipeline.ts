/**
 * pnpm bench:pipeline — the whole queue pipeline (API + Redis + worker processes) against the
 * detector library alone in one process (the ceiling), measured in the same run.
 *
 *   pnpm bench:pipeline [--configs off-1,on-1,on-2,on-2-stream] [--batch 16] [--clients 4,16] [--duration 8]
 *                       [--warmup 2] [--open-duration 8] [--ceiling-seconds 8]
 *                       [--sustain-from 0.7] [--sustain-step 0.05] [--sustain-p99 2000] [--passes 1] [--profile]
 *
 * Configurations `off|on[<max>]-<workers>[-stream[-b<N>]]`: batching off (BATCH_MAX_SIZE=1) or on (BATCH_MAX_SIZE=--batch, or <max>),
 * 1 or more worker processes (INTRA_OP_THREADS=1 each when more than one); async results followed on
 * each job's own SSE stream, or with `-stream` on one `GET /v1/events` stream for all jobs; with `-b<N>`
 * each async submission is a POST /v1/jobs/batch of N images (rates still count images). For each:
 *   - closed loop on POST /v1/detect at each client count;
 *   - the highest sustainable async rate: open loop (Poisson) on POST /v1/jobs, each job followed on
 *     SSE to its result (latency from the scheduled submit to the result seen), at rising fractions
 *     of the ceiling (--sustain-from, --sustain-step) until a rate is not sustained (when the first is not: down in
 *     double steps to one that is, then the single step above it): an error, p99
 *     over --sustain-p99 ms, or a throughput inside the window (warm-up arrivals' completions included)
 *     under 95 % of the window's arrivals;
 *   - end-to-end latency at 50 %, 80 % and 100 % of that rate;
 *   - the batches the workers formed: `maskq_batch_size` scraped from every worker's /metrics
 *     before and after each load run.
 * --passes N runs the configurations N times, every other pass in reverse order: on a shared machine
 * whichever runs first tends to do better, and alternating the order shows how much; the report then gives
 * each configuration's median over its passes.
 * The ceiling: Detector.detectBatch over the 19 fixtures in this process (no API, no Redis), with the session in
 * the calling thread (batches of 1 and of --batch) and on one inference thread per core, measured before the
 * first configuration, between every two (batches of --batch only) and after the last. Each search steps
 * through fractions of the library measured just before it, and is divided by the better of the library
 * measured on either side of it ("next to it": the host's speed drifts) and by the best of the whole run.
 * --profile: after the measured runs, the configuration with the highest sustained rate runs once more at that
 * rate with API and workers under `node --cpu-prof` (a node flag: NODE_OPTIONS refuses it), so profiling never
 * slows a measured row; the top self-time
 * functions go into the report.
 * Writes bench/results/pipeline.json and the `pipeline` section of docs/benchmarks.md.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Detector } from '../packages/worker/src/detector/index.js';
import { runAsyncOpenLoop } from './lib/async-loop.js';
import { readProfiles, selfTimes, type SelfTime } from './lib/cpu-profile.js';
import { fixtureImageNames, fixtureImagesDir, loadFixtureBatchBodies } from './lib/fixtures.js';
import type { LoadResult } from './lib/load-result.js';
import { benchmarksDoc, resultsDir } from './lib/paths.js';
import { histogramDelta, histogramDistribution, histogramSum, parseHistogram, scrape, type HistogramSnapshot } from './lib/prometheus.js';
import { fmt, machineInfo, markdownTable, numberList, parseArgs, writeDocSection, writeJson } from './lib/report.js';
import { bestAt, ceilingNextTo, type CeilingPoint } from './lib/ceilings.js';
import { closedRun } from './lib/suite.js';
import { completedRate, passMedians, sustained } from './lib/sustain.js';
import type { MultipartBody } from './lib/multipart.js';
import { parsePipelineConfig, type PipelineConfig } from './lib/pipeline-config.js';
import { checkMaskqPresent, checkRedis, startMaskq, type MaskqTarget } from './lib/targets.js';

interface Row {
  config: string;
  /** which of the run's configuration passes (0-based): where its library ceiling is */
  runIndex: number;
  load: string;
  result: LoadResult;
  batch: HistogramSnapshot;
  /** async rows: 'sustained', or why not */
  verdict?: string;
}

interface Search {
  config: string;
  /** the configuration's key (off-1, on-2-stream, ...) */
  key: string;
  runIndex: number;
  /** the library images/s measured just before this search, whose fractions it stepped through */
  searchCeiling: number;
  steps: Row[];
  /** the highest offered rate that was sustained */
  best: Row | undefined;
}

async function batchSnapshot(target: MaskqTarget): Promise<HistogramSnapshot> {
  const texts = await Promise.all(target.workerMetricsUrls.map(scrape));
  return histogramSum(texts.map((t) => parseHistogram(t, 'maskq_batch_size')));
}

interface CeilingMeasurement extends CeilingVariant, CeilingPoint {
  images: number;
  when: string;
}

interface CeilingVariant {
  maxBatchSize: number;
  /** 0: the session runs in this thread; n: on n worker_threads (Detector's `inferenceThreads`) */
  inferenceThreads: number;
}

/** A fraction as a percentage, with one decimal only where it has one (2.5 %, not 3 %). */
function percent(fraction: number): string {
  const p = Math.round(1000 * fraction) / 10;
  return fmt(p, Number.isInteger(p) ? 0 : 1);
}

function ceilingLabel(v: CeilingVariant): string {
  return `batches of ${v.maxBatchSize}` + (v.inferenceThreads ? `, ${v.inferenceThreads} inference threads × 1 ONNX Runtime thread` : ', session in the calling thread');
}

/**
 * Images/s of Detector.detectBatch over the fixtures, repeated for at least `seconds`. With
 * inference threads each call carries the fixtures 4 times, so that its chunks keep every thread busy.
 */
async function measureCeiling(variant: CeilingVariant, seconds: number): Promise<CeilingVariant & { imagesPerSecond: number; images: number }> {
  const fixtures = fixtureImageNames().map((n) => readFileSync(join(fixtureImagesDir, n)));
  const images = variant.inferenceThreads ? [...fixtures, ...fixtures, ...fixtures, ...fixtures] : fixtures;
  const { maxBatchSize, inferenceThreads } = variant;
  const detector = await Detector.create({ maxBatchSize, inferenceThreads, graphOptimizationLevel: 'all', intraOpSpinning: false });
  try {
    await detector.detectBatch(images); // warm-up
    let done = 0;
    const t0 = performance.now();
    while (performance.now() - t0 < seconds * 1000) {
      const results = await detector.detectBatch(images);
      const failed = results.filter((r) => r instanceof Error);
      if (failed.length) throw new Error(`the ceiling run failed on ${failed.length} fixtures: ${String(failed[0])}`);
      done += images.length;
    }
    return { ...variant, images: done, imagesPerSecond: (done * 1000) / (performance.now() - t0) };
  } finally {
    await detector.close();
  }
}

/** What each async submission of a configuration sends: one fixture, or several (POST /v1/jobs/batch). */
function asyncSubmissions(config: PipelineConfig, target: MaskqTarget): { bodies: readonly MultipartBody[]; imagesPerRequest: number } {
  const images = config.imagesPerRequest;
  return { bodies: images > 1 ? loadFixtureBatchBodies(images) : target.bodies, imagesPerRequest: images };
}

function meanBatch(h: HistogramSnapshot): number {
  return h.count ? h.sum / h.count : Number.NaN;
}

function distribution(h: HistogramSnapshot): string {
  return histogramDistribution(h)
    .map((b) => `${b.range}: ${b.count}`)
    .join(', ');
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const batch = Number(args.get('batch') ?? 16);
  const configs = (args.get('configs') ?? 'off-1,on-1,on-2,on-2-stream').split(',').map((k) => parsePipelineConfig(k.trim(), batch));
  const clients = numberList(args.get('clients'), [4, 16]);
  const sustain = {
    from: Number(args.get('sustain-from') ?? 0.7),
    step: Number(args.get('sustain-step') ?? 0.05),
    maxP99Ms: Number(args.get('sustain-p99') ?? 2000),
  };
  const closed = { durationMs: Number(args.get('duration') ?? 8) * 1000, warmupMs: Number(args.get('warmup') ?? 2) * 1000 };
  const open = { durationMs: Number(args.get('open-duration') ?? 8) * 1000, warmupMs: 2000 };
  const ceilingSeconds = Number(args.get('ceiling-seconds') ?? 8);
  const profile = args.get('profile') === 'true';
  const passes = Number(args.get('passes') ?? 1);
  if (!(passes >= 1)) throw new Error(`--passes must be >= 1, not ${args.get('passes')}`);
  // Every other pass in reverse order, each labelled with its pass when there are several.
  const runs = Array.from({ length: passes }, (_, pass) =>
    (pass % 2 === 0 ? configs : [...configs].reverse()).map((config) => ({ ...config, label: passes > 1 ? `${config.label} (pass ${pass + 1})` : config.label })),
  ).flat();

  checkMaskqPresent();
  await checkRedis();
  const machine = machineInfo();
  console.log(`load average at start: ${machine.loadavg1m.toFixed(2)}`);

  // The library is measured before the first configuration, between every two and after the last
  // (slot i: just before run i). This host's speed drifts by a third within half an hour, so each
  // search is also set against the library measured on either side of it ("next to it"), the better of
  // the two; and against the best of the whole run, the stricter figure. Never against a lower one: a
  // ceiling measured while the machine was busier would flatter the pipeline.
  const ceilings: CeilingMeasurement[] = [];
  const allVariants: CeilingVariant[] = [
    ...[...new Set([1, batch])].map((maxBatchSize) => ({ maxBatchSize, inferenceThreads: 0 })),
    { maxBatchSize: batch, inferenceThreads: availableParallelism() },
  ];
  // Between runs only the variants that can be the best (batches of 1 never were).
  const bracketVariants = allVariants.filter((v) => v.maxBatchSize === batch);
  const measureCeilings = async (slot: number) => {
    const when = slot === 0 ? 'before the pipeline runs' : slot === runs.length ? 'after the pipeline runs' : `between runs ${slot} and ${slot + 1}`;
    console.log(`ceiling (${when}): Detector.detectBatch over the fixtures, in this process...`);
    for (const variant of slot === 0 || slot === runs.length ? allVariants : bracketVariants) {
      const c = await measureCeiling(variant, ceilingSeconds);
      console.log(`  detectBatch (${ceilingLabel(variant)}): ${c.imagesPerSecond.toFixed(1)} images/s`);
      ceilings.push({ ...c, when, slot });
    }
  };

  const rows: Row[] = [];
  const searches: Search[] = [];
  let profileTop: Array<{ file: string; top: SelfTime[] }> = [];
  let profiledLabel = '';
  for (const [runIndex, config] of runs.entries()) {
    await measureCeilings(runIndex);
    // The sustained-rate search steps through fractions of the library measured just before it.
    const searchCeiling = bestAt(ceilings, runIndex);
    console.log(`${config.label}: starting API + ${config.workers} worker(s)...`);
    const target = await startMaskq({ workers: config.workers, workerEnv: config.workerEnv, field: 'image' });
    try {
      for (const c of clients) {
        const before = await batchSnapshot(target);
        const result = await closedRun(target, c, closed);
        rows.push({ config: config.label, runIndex, load: `closed, ${c} clients (sync)`, result, batch: histogramDelta(await batchSnapshot(target), before) });
      }
      const submissions = asyncSubmissions(config, target);
      const asyncRun = async (rate: number, load: string): Promise<Row> => {
        const before = await batchSnapshot(target);
        const result = await runAsyncOpenLoop({ baseUrl: target.baseUrl, ...submissions, rate, ...open, timeoutMs: 60_000, events: config.events });
        const row: Row = { config: config.label, runIndex, load, result, batch: histogramDelta(await batchSnapshot(target), before) };
        const verdict = sustained(result, sustain.maxP99Ms);
        console.log(
          `  async ${rate.toFixed(1)}/s offered (${percent(rate / searchCeiling)} % of ceiling): ${completedRate(result).toFixed(1)} jobs/s, ` +
            `p50 ${result.latency.p50.toFixed(0)} ms, p99 ${result.latency.p99.toFixed(0)} ms, mean batch ${fmt(meanBatch(row.batch), 2)}, ${verdict ?? 'sustained'}`,
        );
        return { ...row, verdict: verdict ?? 'sustained' };
      };
      // Rising fractions of the ceiling until one is not sustained; down from the start if the first is not.
      const steps: Row[] = [];
      let best: Row | undefined;
      for (let fraction = sustain.from; fraction <= 1.2 + 1e-9; fraction += sustain.step) {
        const row = await asyncRun(searchCeiling * fraction, `search: ${percent(fraction)} % of ceiling`);
        steps.push(row);
        if (row.verdict !== 'sustained') break;
        best = row;
      }
      for (let fraction = sustain.from - 2 * sustain.step; !best && fraction > 0.05; fraction -= 2 * sustain.step) {
        const row = await asyncRun(searchCeiling * fraction, `search: ${percent(fraction)} % of ceiling`);
        steps.push(row);
        if (row.verdict === 'sustained') {
          best = row;
          // Down in double steps, so the single step between this one and the failed one above is still open.
          const between = fraction + sustain.step;
          const up = await asyncRun(searchCeiling * between, `search: ${percent(between)} % of ceiling`);
          steps.push(up);
          if (up.verdict === 'sustained') best = up;
        }
      }
      searches.push({ config: config.label, key: config.key, runIndex, searchCeiling, steps, best });
      if (best) {
        const top = best.result.offeredRate ?? 0;
        for (const share of [0.5, 0.8, 1]) {
          rows.push(await asyncRun(top * share, `async open loop, ${fmt(100 * share, 0)} % of highest sustained (${fmt(top * share)}/s)`));
        }
      }
    } finally {
      await target.stop();
    }
  }

  const bestSearch = [...searches].sort((a, b) => (b.best ? completedRate(b.best.result) : 0) - (a.best ? completedRate(a.best.result) : 0))[0];
  const bestConfig = configs.find((c) => c.key === bestSearch?.key);
  if (profile && bestSearch?.best && bestConfig) {
    const rate = bestSearch.best.result.offeredRate ?? 0;
    profiledLabel = `${bestConfig.label}, async open loop at ${fmt(rate)}/s offered`;
    console.log(`profile: ${profiledLabel}...`);
    const profileDir = mkdtempSync(join(tmpdir(), 'maskq-prof-'));
    const profArgs = (who: string) => ['--cpu-prof', `--cpu-prof-dir=${join(profileDir, who)}`];
    const target = await startMaskq({ workers: bestConfig.workers, workerEnv: bestConfig.workerEnv, field: 'image', workerNodeArgs: profArgs('worker'), apiNodeArgs: profArgs('api') });
    try {
      await runAsyncOpenLoop({ baseUrl: target.baseUrl, ...asyncSubmissions(bestConfig, target), rate, ...open, timeoutMs: 60_000, events: bestConfig.events });
    } finally {
      await target.stop();
    }
    // Main threads only (`.0.` in the file name); the other profile per process is an idle helper thread.
    profileTop = ['api', 'worker'].flatMap((who) =>
      readProfiles(join(profileDir, who))
        .filter(({ file }) => /\.0\.\d+\.cpuprofile$/.test(file))
        .map(({ file, profile: p }) => ({ file: `${who}: ${file}`, top: selfTimes(p).slice(0, 12) })),
    );
    rmSync(profileDir, { recursive: true, force: true });
  }

  await measureCeilings(runs.length);
  const ceiling = Math.max(...ceilings.map((c) => c.imagesPerSecond));
  const nextTo = (runIndex: number): number => ceilingNextTo(ceilings, runIndex);

  const table = markdownTable(
    ['configuration', 'load', 'completed jobs/s', 'p50 ms', 'p95 ms', 'p99 ms', 'errors', 'server CPU ms/job', 'mean batch', 'batches (size: count)', '÷ ceiling'],
    rows.map((r) => [
      r.config,
      r.load,
      fmt(completedRate(r.result)),
      fmt(r.result.latency.p50, 0),
      fmt(r.result.latency.p95, 0),
      fmt(r.result.latency.p99, 0),
      String(r.result.errors),
      fmt(r.result.serverCpuMsPerRequest ?? Number.NaN),
      fmt(meanBatch(r.batch), 2),
      distribution(r.batch),
      `${fmt((100 * completedRate(r.result)) / nextTo(r.runIndex), 0)} %`,
    ]),
  );
  const searchTable = markdownTable(
    ['configuration', 'offered jobs/s', 'arrived/s', 'completed in window/s', 'p50 ms', 'p99 ms', 'mean batch', 'verdict'],
    searches.flatMap((search) =>
      search.steps.map((r) => [
        search.config,
        `${fmt(r.result.offeredRate ?? Number.NaN)} (${percent((r.result.offeredRate ?? Number.NaN) / search.searchCeiling)} %)`,
        fmt(r.result.arrivalRate ?? Number.NaN),
        fmt(r.result.rps),
        fmt(r.result.latency.p50, 0),
        fmt(r.result.latency.p99, 0),
        fmt(meanBatch(r.batch), 2),
        r.verdict ?? '',
      ]),
    ),
  );
  const headline = markdownTable(
    ['configuration', 'highest sustained async rate (jobs/s)', 'library next to it (images/s)', 'pipeline ÷ library next to it', `÷ best library of the run (${fmt(ceiling)})`],
    searches.map((search) => [
      search.config,
      search.best ? fmt(completedRate(search.best.result)) : 'none',
      fmt(nextTo(search.runIndex)),
      search.best ? `**${fmt(completedRate(search.best.result) / nextTo(search.runIndex), 2)}×**` : '–',
      search.best ? `${fmt(completedRate(search.best.result) / ceiling, 2)}×` : '–',
    ]),
  );
  // With several passes, the figure to quote: each configuration's median over its passes.
  const rateOf = (search: Search): number | undefined => (search.best ? completedRate(search.best.result) : undefined);
  const medians = passMedians(searches.map((search) => ({ key: search.key, value: rateOf(search) })));
  const localRatios = passMedians(searches.map((search) => ({ key: search.key, value: (rateOf(search) ?? 0) / nextTo(search.runIndex) })));
  const medianTable =
    passes > 1
      ? markdownTable(
          ['configuration', 'highest sustained rate in each pass (jobs/s)', '÷ library next to it, each pass', `median of ${passes} passes ÷ library next to it`, `median jobs/s ÷ best library of the run (${fmt(ceiling)})`],
          medians.map((m, i) => [
            configs.find((c) => c.key === m.key)?.label ?? m.key,
            m.values.map((r) => fmt(r)).join(', '),
            (localRatios[i]?.values ?? []).map((r) => `${fmt(r, 2)}×`).join(', '),
            `**${fmt(localRatios[i]?.median ?? Number.NaN, 2)}×**`,
            `${fmt(m.median / ceiling, 2)}×`,
          ]),
        )
      : '';
  const ceilingTable = markdownTable(
    ['library alone (one process)', 'measured', 'images/s'],
    ceilings.map((c) => [`Detector.detectBatch, 19 fixtures, ${ceilingLabel(c)}`, c.when, fmt(c.imagesPerSecond)]),
  );
  console.log(`\n${ceilingTable}\n\n${headline}\n\n${medianTable ? `${medianTable}\n\n` : ''}${searchTable}\n\n${table}\n`);
  const profileText = profileTop.flatMap(({ file, top }) => [
    '',
    `\`${file}\` (${profiledLabel}, main thread, top self time; wall-clock samples, idle included):`,
    '',
    markdownTable(
      ['function', 'self ms', 'share'],
      top.map((t) => [t.frame, fmt(t.ms, 0), `${fmt(100 * t.share, 1)} %`]),
    ),
  ]);
  if (profileText.length) console.log(profileText.join('\n'));

  writeJson(join(resultsDir, 'pipeline.json'), {
    machine,
    settings: { configs, clients, sustain, closed, open, batch, ceilingSeconds, passes },
    medians: medians.map((m, i) => ({ ...m, ratiosNextToLibrary: localRatios[i]?.values, medianRatioNextToLibrary: localRatios[i]?.median })),
    searches: searches.map((x) => ({ config: x.config, best: x.best?.result.offeredRate, steps: x.steps.map((r) => ({ offered: r.result.offeredRate, verdict: r.verdict, result: r.result })) })),
    ceilings,
    rows: rows.map((r) => ({ ...r, meanBatch: meanBatch(r.batch), batchDistribution: histogramDistribution(r.batch) })),
    profile: profileTop,
  });
  writeDocSection(
    benchmarksDoc,
    'pipeline',
    [
      '## The queue pipeline against the library alone (`pnpm bench:pipeline`)',
      '',
      `Measured ${machine.date.slice(0, 16).replace('T', ' ')} UTC on ${machine.cpus} × ${machine.cpuModel}, Node ${machine.node},`,
      `load average ${machine.loadavg1m.toFixed(2)} at the start (a shared machine: compare rows of this run only).`,
      'API and workers are separate processes on one Redis, under a fresh queue prefix; the same 19 fixture images.' +
        (passes > 1 ? ` The configurations ran in ${passes} passes, every other one in reverse order (the order shows on a shared machine).` : ''),
      `Closed loop: POST /v1/detect, ${closed.durationMs / 1000} s after ${closed.warmupMs / 1000} s warmup. Async: Poisson arrivals on`,
      `POST /v1/jobs, ${open.durationMs / 1000} s after ${open.warmupMs / 1000} s warmup, each job followed on its own SSE stream (keep-alive), or, in`,
      "the configurations marked \"one event stream\", on one `GET /v1/events` stream opened before the run for all jobs; latency from",
      'the scheduled submit to the final state seen by the client. In the configurations marked "N images per submission" each',
      'arrival is a POST /v1/jobs/batch of N fixtures (arrivals at the offered jobs/s ÷ N); its latency runs to the last of its N results,',
      'and rates count images. The highest sustained rate is found by raising the offered',
      `rate from ${percent(sustain.from)} % of the library measured just before it in steps of ${percent(sustain.step)} % until a step is not sustained (if the first is not: down in double steps to one that is, then the step above it; not sustained: an error, p99 over`,
      `${sustain.maxP99Ms} ms, or fewer jobs completed inside the window than 95 % of its arrivals, completions of warm-up arrivals included so`,
      'that latency alone does not count as falling behind: the backlog grew). At a sustained rate every arrival',
      'completed, so its completed jobs/s are the arrivals of the window. Batch sizes: `maskq_batch_size` from every',
      "worker's /metrics, before and after each row. Server CPU: API + workers (Redis not counted). The library alone",
      '(Detector.detectBatch in one process, no API, no Redis, with its session in the calling thread and with one inference thread',
      'per core) is measured before the first configuration, between every two and after the last, because this host\'s speed',
      'drifts: each configuration is divided by the library "next to it" (the best variant measured just before or just after it) and',
      'by the best of the whole run (stricter: the fastest moment of the host); ÷ ceiling in the last table is against the library next to it.',
      '',
      ceilingTable,
      '',
      '### Queue cost: highest sustained async rate against the library alone',
      '',
      headline,
      '',
      ...(medianTable ? ['Each configuration over its passes (the figure to quote: one pass can fall at its first step to another tenant\'s burst):', '', medianTable, ''] : []),
      'The search, step by step:',
      '',
      searchTable,
      '',
      '### Every row (closed-loop sync, and async at 50 / 80 / 100 % of the highest sustained rate)',
      '',
      table,
      ...(profileText.length ? ['', '### Where the worker spends its time (`--profile`)', ...profileText] : []),
    ].join('\n'),
  );
  console.log('wrote bench/results/pipeline.json and docs/benchmarks.md (pipeline section)');
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exitCode = 1;
});
