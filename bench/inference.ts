/**
 * pnpm bench:inference — throughput of the detector library on this machine.
 * Prints a table, writes bench/results/inference.json and updates the
 * "inference" section of docs/benchmarks.md. Each row: median of RUNS runs.
 */
import { execFileSync } from 'node:child_process';
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  createBatchTensor,
  createOrtSession,
  Detector,
  imageTensorSize,
  loadModelSpec,
  preprocessInto,
  runtimeVersions,
  type GraphOptimizationLevel,
  type InferenceSession,
} from '../packages/worker/src/detector/index.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const sharedDir = process.env.SHARED_DIR ?? resolve(repoRoot, '..', 'shared');
const imagesDir = join(sharedDir, 'fixtures', 'images');
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const maxPixels = 50_000_000;

interface Row {
  stage: string;
  config: string;
  imagesPerSecond: number;
  msPerImage: number;
  runs: number[];
}

const rows: Row[] = [];

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Runs `once` (which processes `images` images) RUNS times after one warm-up; records images/s. */
async function measure(stage: string, config: string, images: number, once: () => Promise<void>): Promise<Row> {
  await once();
  const runs: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    const t0 = performance.now();
    await once();
    runs.push((images * 1000) / (performance.now() - t0));
  }
  const ips = median(runs);
  const row = { stage, config, imagesPerSecond: round(ips), msPerImage: round(1000 / ips, 2), runs: runs.map((v) => round(v)) };
  rows.push(row);
  process.stderr.write(`${stage.padEnd(28)} ${config.padEnd(34)} ${row.imagesPerSecond.toFixed(1).padStart(7)} img/s\n`);
  return row;
}

function round(v: number, d = 1): number {
  return Math.round(v * 10 ** d) / 10 ** d;
}

async function main(): Promise<void> {
  const loadBefore = loadavg()[0]!;
  const names = (await readdir(imagesDir)).filter((n) => /\.(jpe?g|png)$/i.test(n)).sort();
  const all = await Promise.all(names.map((n) => readFile(join(imagesDir, n))));
  const small = all.filter((_, i) => !names[i]!.startsWith('scene_'));
  const scenes = all.filter((_, i) => names[i]!.startsWith('scene_'));
  const spec = await loadModelSpec();
  const slot = imageTensorSize();

  // 1. decode + preprocess
  const one = createBatchTensor(1);
  await measure('decode+preprocess', `${small.length} photos, one at a time`, small.length, async () => {
    for (const b of small) await preprocessInto(b, one, 0, { maxPixels });
  });
  const many = createBatchTensor(all.length);
  await measure('decode+preprocess', `${small.length} photos, concurrent`, small.length, async () => {
    await Promise.all(small.map((b, i) => preprocessInto(b, many, i, { maxPixels })));
  });
  await measure('decode+preprocess', '2 camera scenes (720p, 1080p)', scenes.length * 4, async () => {
    for (let k = 0; k < 4; k++) for (const b of scenes) await preprocessInto(b, one, 0, { maxPixels });
  });

  // Real inputs for inference: the fixtures' tensors, repeated.
  const pool = createBatchTensor(all.length);
  await Promise.all(all.map((b, i) => preprocessInto(b, pool, i, { maxPixels })));
  const batchTensor = (n: number) => {
    const t = createBatchTensor(n);
    for (let i = 0; i < n; i++) t.set(pool.subarray((i % all.length) * slot, ((i % all.length) + 1) * slot), i * slot);
    return t;
  };
  const open = (threads: number, level: GraphOptimizationLevel = 'extended', spinning = true): Promise<InferenceSession> =>
    createOrtSession({
      model: spec.modelPath,
      inputName: spec.inputName,
      imageShape: spec.imageShape,
      outputNames: spec.outputNames,
      intraOpThreads: threads,
      graphOptimizationLevel: level,
      intraOpSpinning: spinning,
    });

  // 2. inference alone
  for (const threads of [1, 2]) {
    const session = await open(threads);
    for (const batch of [1, 2, 4, 8, 16, 32]) {
      const t = batchTensor(batch);
      const calls = Math.max(1, Math.round(64 / batch));
      await measure('inference', `batch ${batch}, ${threads} thread${threads > 1 ? 's' : ''}`, calls * batch, async () => {
        for (let c = 0; c < calls; c++) await session.run(t, batch);
      });
    }
    await session.close();
  }

  // 3. graph optimisation level
  for (const level of ['extended', 'all'] as const) {
    const session = await open(2, level);
    const t = batchTensor(1);
    await measure('inference', `batch 1, 2 threads, graph '${level}'`, 32, async () => {
      for (let c = 0; c < 32; c++) await session.run(t, 1);
    });
    await session.close();
  }

  // 3b. idle threads spinning or not (matters when other processes share the cores)
  {
    const session = await open(2, 'extended', false);
    const t = batchTensor(1);
    await measure('inference', 'batch 1, 2 threads, no spinning', 32, async () => {
      for (let c = 0; c < 32; c++) await session.run(t, 1);
    });
    await session.close();
  }

  // 4. the library end to end (bytes in, results out)
  const detector = await Detector.create({ intraOpThreads: 2 });
  await measure('end to end (Detector)', `${small.length} photos, detect() one by one`, small.length, async () => {
    for (const b of small) await detector.detect(b);
  });
  await measure('end to end (Detector)', `${small.length} photos, detectBatch (16)`, small.length, async () => {
    await detector.detectBatch(small);
  });
  await measure('end to end (Detector)', `all ${all.length} fixtures, detectBatch (16)`, all.length, async () => {
    await detector.detectBatch(all);
  });
  await measure('end to end (Detector)', '2 camera scenes, detect()', scenes.length * 4, async () => {
    for (let k = 0; k < 4; k++) for (const b of scenes) await detector.detect(b);
  });
  await detector.close();

  const machine = {
    cpu: lscpuModel() ?? cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    node: process.version,
    ...runtimeVersions(),
    runs: RUNS,
    loadAverage1m: { before: round(loadBefore, 2), after: round(loadavg()[0]!, 2) },
    date: new Date().toISOString(),
  };
  const table = renderTable(rows);
  process.stdout.write(`\n${table}\n`);
  await mkdir(join(repoRoot, 'bench', 'results'), { recursive: true });
  await writeFile(join(repoRoot, 'bench', 'results', 'inference.json'), `${JSON.stringify({ machine, rows }, null, 2)}\n`);
  await updateDocs(machine, table);
}

function lscpuModel(): string | undefined {
  try {
    const out = execFileSync('lscpu', { encoding: 'utf8' });
    return /^Model name:\s*(.+)$/m.exec(out)?.[1]?.trim();
  } catch {
    return undefined;
  }
}

function renderTable(data: Row[]): string {
  const lines = ['| stage | configuration | images/s | ms/image |', '| --- | --- | ---: | ---: |'];
  for (const r of data) lines.push(`| ${r.stage} | ${r.config} | ${r.imagesPerSecond.toFixed(1)} | ${r.msPerImage.toFixed(2)} |`);
  return lines.join('\n');
}

const START = '<!-- bench:inference:start -->';
const END = '<!-- bench:inference:end -->';

async function updateDocs(machine: Record<string, unknown>, table: string): Promise<void> {
  const path = join(repoRoot, 'docs', 'benchmarks.md');
  let doc: string;
  try {
    doc = await readFile(path, 'utf8');
  } catch {
    doc = '# Benchmarks\n\n';
  }
  const section = [
    START,
    `Generated by \`pnpm bench:inference\` on ${String(machine.date).slice(0, 10)}: median of ${String(machine.runs)} runs after a warm-up.`,
    '',
    `Machine: ${String(machine.cpu)}, ${String(machine.cores)} cores; Node ${String(machine.node)}, onnxruntime-node ${String(machine.onnxruntime)}, sharp ${String(machine.sharp)} (libvips ${String(machine.libvips)}).`,
    `1-minute load average before/after: ${JSON.stringify(machine.loadAverage1m)} (other processes shared the ${String(machine.cores)} cores when above ~0.5).`,
    '',
    table,
    END,
  ].join('\n');
  const s = doc.indexOf(START);
  const e = doc.indexOf(END);
  doc = s >= 0 && e > s ? doc.slice(0, s) + section + doc.slice(e + END.length) : `${doc.trimEnd()}\n\n## Inference (detector library)\n\n${section}\n`;
  await writeFile(path, doc);
}

await main();
