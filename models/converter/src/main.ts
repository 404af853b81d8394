/**
 * pnpm convert [--int8 [--calibration DIR] [--method minmax|percentile]] [--out DIR] [--source DIR] [--check]
 *
 * Converts the AIZOO face-mask Caffe model to ONNX and writes model.onnx, model.json and
 * LICENSE into DIR (default models/face-mask/1.0.0). --int8 quantizes it (static QDQ,
 * calibrated on ../shared/fixtures/validation) into models/face-mask/1.0.0-int8. --check
 * writes nothing: it rebuilds in memory and exits 1 unless the files in DIR are byte-identical.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { buildFaceMaskModel } from './build.js';
import { buildFaceMaskInt8Model, defaultCalibrationDir } from './build-int8.js';

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));

async function readIfExists(path: string): Promise<Buffer | null> {
  try {
    return await readFile(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      out: { type: 'string' },
      source: { type: 'string' },
      check: { type: 'boolean', default: false },
      int8: { type: 'boolean', default: false },
      calibration: { type: 'string' },
      method: { type: 'string', default: 'minmax' },
      percentile: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) {
    console.log('usage: pnpm convert [--int8 [--calibration DIR] [--method minmax|percentile] [--percentile P]] [--out DIR] [--source DIR] [--check]');
    return 0;
  }
  const outDir = resolve(values.out ?? join(repoRoot, 'models', 'face-mask', values.int8 ? '1.0.0-int8' : '1.0.0'));
  const sharedDir = process.env.SHARED_DIR ?? join(repoRoot, '..', 'shared');
  const sourceDir = resolve(values.source ?? join(sharedDir, 'models', 'aizoo-face-mask'));
  if (values.method !== 'minmax' && values.method !== 'percentile') throw new Error(`--method must be minmax or percentile, got ${values.method}`);

  const built = values.int8
    ? await buildFaceMaskInt8Model({
        sourceDir,
        calibrationDir: resolve(values.calibration ?? defaultCalibrationDir(sharedDir)),
        calibrationLabel: values.calibration ? undefined : 'fixtures/validation',
        method: values.method,
        percentile: values.percentile === undefined ? undefined : Number(values.percentile),
      })
    : await buildFaceMaskModel(sourceDir);
  const shown = (file: string) => relative(process.cwd(), join(outDir, file)) || file;

  if (values.check) {
    let stale = 0;
    for (const [file, bytes] of built.files) {
      const existing = await readIfExists(join(outDir, file));
      if (existing === null) console.error(`missing: ${shown(file)}`);
      else if (!existing.equals(bytes)) console.error(`differs: ${shown(file)}`);
      else continue;
      stale++;
    }
    if (stale > 0) {
      console.error(`${stale} file(s) out of date; run \`pnpm convert\` and commit the result`);
      return 1;
    }
    console.log(`up to date: ${shown('')} (model sha256 ${built.manifest.model.sha256})`);
    return 0;
  }

  await mkdir(outDir, { recursive: true });
  for (const [file, bytes] of built.files) {
    await writeFile(join(outDir, file), bytes);
    console.log(`wrote ${shown(file)} (${bytes.length} bytes)`);
  }
  console.log(`model sha256 ${built.manifest.model.sha256}`);
  return 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exitCode = 2;
  },
);
