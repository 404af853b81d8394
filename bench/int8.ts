/**
 * pnpm bench:int8 [--runs N] [--images N] [--no-write]
 *
 * Float32 vs int8 face-mask model:
 * 1. accuracy against ../shared/fixtures/validation.json (300 photos) with the real Detector
 *    (sharp decode, bilinear resize, ONNX Runtime, decode + NMS), and the int8 gate;
 * 2. inference speed: ONNX Runtime CPU session.run only, images/s at batch 1, 8, 16 with 1 and
 *    2 intra-op threads, graphOptimizationLevel 'extended' and 'all'; median of N runs.
 * Prints both tables and writes them into docs/benchmarks.md between
 * `<!-- int8:start -->` and `<!-- int8:end -->` (other content is kept).
 */
import { existsSync } from 'node:fs';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import * as ort from 'onnxruntime-node';
import { Detector, createBatchTensor, defaultMaxPixels, imageTensorSize, preprocessInto } from '@maskq/worker/detector';
import { evaluateAccuracy, readReferenceSet, type AccuracyReport } from '../models/converter/src/evaluate/accuracy.js';
import { int8GateDecision, int8GateThresholds } from '../models/converter/src/evaluate/gate.js';
import { fixturesDir, int8ModelDir, modelDir, repoRoot } from '../test-support/paths.js';
import { machineInfo } from './lib/report.js';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '5' },
    images: { type: 'string', default: '32' },
    'no-write': { type: 'boolean', default: false },
  },
  strict: true,
});
const RUNS = Number(values.runs);
const IMAGES_PER_RUN = Number(values.images);
const BATCHES = [1, 8, 16];
const THREADS = [1, 2];
const LEVELS = ['extended', 'all'] as const;
const MODELS = [
  { precision: 'float32', dir: modelDir },
  { precision: 'int8', dir: int8ModelDir },
] as const;
type Precision = (typeof MODELS)[number]['precision'];

const pct = (v: number) => `${(v * 100).toFixed(2)}%`;
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

async function measureAccuracy(): Promise<Record<Precision, AccuracyReport>> {
  const reference = await readReferenceSet(join(fixturesDir, 'validation.json'));
  const out: Partial<Record<Precision, AccuracyReport>> = {};
  for (const { precision, dir } of MODELS) {
    const detector = await Detector.create({ modelDir: dir });
    try {
      out[precision] = await evaluateAccuracy((images) => detector.detectBatch(images), reference, join(fixturesDir, 'validation'));
    } finally {
      await detector.close();
    }
  }
  return out as Record<Precision, AccuracyReport>;
}

/** 16 real photos, preprocessed once: the batch tensors every configuration runs. */
async function inputImages(): Promise<Float32Array> {
  const dir = join(fixturesDir, 'validation');
  const names = (await readdir(dir)).filter((n) => /\.(jpe?g|png)$/i.test(n)).sort();
  const picked = names.filter((_, i) => i % Math.floor(names.length / 16) === 0).slice(0, 16);
  const tensor = createBatchTensor(16);
  for (const [i, name] of picked.entries()) await preprocessInto(await readFile(join(dir, name)), tensor, i, { maxPixels: defaultMaxPixels });
  return tensor;
}

interface SpeedRow {
  level: (typeof LEVELS)[number];
  threads: number;
  batch: number;
  float32: number;
  int8: number;
  /** median of the per-run int8/float32 ratios (runs alternate, so both see the same load) */
  ratio: number;
}

/**
 * For each level and thread count, both sessions are open at once and their runs alternate
 * (float32, int8, float32, …), so a busy neighbour slows both alike.
 */
async function measureSpeed(images: Float32Array): Promise<SpeedRow[]> {
  const rows: SpeedRow[] = [];
  const size = imageTensorSize();
  for (const level of LEVELS) {
    for (const threads of THREADS) {
      const sessions = await Promise.all(
        MODELS.map(({ dir }) =>
          ort.InferenceSession.create(join(dir, 'model.onnx'), {
            graphOptimizationLevel: level,
            intraOpNumThreads: threads,
            interOpNumThreads: 1,
            executionMode: 'sequential',
          }),
        ),
      );
      try {
        for (const batch of BATCHES) {
          const feeds = { data: new ort.Tensor('float32', images.subarray(0, batch * size), [batch, 3, 260, 260]) };
          const calls = Math.max(1, Math.round(IMAGES_PER_RUN / batch));
          for (const s of sessions) await s.run(feeds); // warm-up
          const rates: number[][] = sessions.map(() => []);
          for (let r = 0; r < RUNS; r++) {
            for (const [k, s] of sessions.entries()) {
              const t0 = performance.now();
              for (let c = 0; c < calls; c++) await s.run(feeds);
              rates[k]!.push((calls * batch) / ((performance.now() - t0) / 1000));
            }
          }
          const row: SpeedRow = {
            level,
            threads,
            batch,
            float32: median(rates[0]!),
            int8: median(rates[1]!),
            ratio: median(rates[1]!.map((q, r) => q / rates[0]![r]!)),
          };
          rows.push(row);
          console.error(`  ${level} threads=${threads} batch=${batch}: float32 ${row.float32.toFixed(1)}, int8 ${row.int8.toFixed(1)} images/s (${row.ratio.toFixed(2)}×)`);
        }
      } finally {
        for (const s of sessions) await s.release();
      }
    }
  }
  return rows;
}

function accuracyTable(acc: Record<Precision, AccuracyReport>): string {
  const lines = [
    '| model | same count + labels, every IoU ≥ 0.85 | same top label | top label = file-name class | images differing |',
    '| --- | ---: | ---: | ---: | --- |',
  ];
  for (const { precision } of MODELS) {
    const r = acc[precision];
    lines.push(`| ${precision} | ${pct(r.sameDetections)} | ${pct(r.sameTopLabel)} | ${pct(r.fileClass)} | ${r.differing.join(', ') || '–'} |`);
  }
  return lines.join('\n');
}

function speedTable(rows: SpeedRow[]): string {
  const lines = [
    '| level | threads | batch | float32 images/s | int8 images/s | int8 / float32 |',
    '| --- | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const r of rows) {
    lines.push(`| ${r.level} | ${r.threads} | ${r.batch} | ${r.float32.toFixed(1)} | ${r.int8.toFixed(1)} | ${r.ratio.toFixed(2)}× |`);
  }
  return lines.join('\n');
}

async function writeSection(section: string): Promise<string> {
  const file = join(repoRoot, 'docs', 'benchmarks.md');
  const start = '<!-- int8:start -->';
  const end = '<!-- int8:end -->';
  const block = `${start}\n${section}\n${end}`;
  let doc = existsSync(file) ? await readFile(file, 'utf8') : '# Benchmarks\n';
  const i = doc.indexOf(start);
  const j = doc.indexOf(end);
  if (i >= 0 && j > i) doc = doc.slice(0, i) + block + doc.slice(j + end.length);
  else doc = `${doc.trimEnd()}\n\n${block}\n`;
  await writeFile(file, doc);
  return file;
}

async function main(): Promise<void> {
  const load = loadavg()[0]!.toFixed(1);
  console.error('accuracy (300 photos, real Detector)…');
  const accuracy = await measureAccuracy();
  const decision = int8GateDecision(accuracy.int8, accuracy.float32);
  console.error(`speed (${RUNS} runs of ~${IMAGES_PER_RUN} images per configuration)…`);
  const speed = await measureSpeed(await inputImages());
  const loadAfter = loadavg()[0]!.toFixed(1);

  const gate = decision.serveInt8
    ? '**Decision: int8 passes the gate** and may be served by default (set `MODEL_DIR=models/face-mask/1.0.0-int8`).'
    : `**Decision: int8 does not pass the gate; float32 (\`models/face-mask/1.0.0\`) stays the default.** ${decision.reasons.join('; ')}.`;
  const section = [
    '## INT8 vs FP32 (`pnpm bench:int8`)',
    '',
    `Measured ${new Date().toISOString().slice(0, 10)} on ${machineInfo().cpuModel} × ${cpus().length} cores, ` +
      `onnxruntime-node ${ort.env.versions.node ?? ''}, load average ${load} → ${loadAfter} (shared machine: absolute numbers are noisy, compare within a table).`,
    '',
    '### Accuracy vs `../shared/fixtures/validation.json` (300 photos, real `Detector`)',
    '',
    accuracyTable(accuracy),
    '',
    `Gate: int8 is served by default only with ≥ ${pct(int8GateThresholds.sameDetections)} same detections, ` +
      `≥ ${pct(int8GateThresholds.sameTopLabel)} same top label, and at least float32's agreement on both.`,
    '',
    gate,
    '',
    'The int8 model was calibrated on these same 300 photos (min/max), so its accuracy here is, if anything, optimistic.',
    '',
    `### Inference speed (ONNX Runtime CPU, \`session.run\` only, median of ${RUNS} runs of ~${IMAGES_PER_RUN} images)`,
    '',
    'float32 and int8 runs alternate, so both see the same load; the last column is the median of the per-run ratios, ' +
      'the number to trust on a busy machine.',
    '',
    speedTable(speed),
  ].join('\n');

  console.log(`\n${section}\n`);
  if (!values['no-write']) console.error(`wrote ${await writeSection(section)}`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
