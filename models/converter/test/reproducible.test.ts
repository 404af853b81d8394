import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { modelManifestSchema } from '@maskq/shared';
import { modelDir, repoRoot } from '../../../test-support/paths.js';

const run = promisify(execFile);
const files = ['model.onnx', 'model.json', 'LICENSE'];

/** Runs the real CLI (`pnpm convert` is this command). */
function convert(args: string[]) {
  return run(process.execPath, ['--conditions=source', '--import', 'tsx', 'models/converter/src/main.ts', ...args], {
    cwd: repoRoot,
  });
}

describe('pnpm convert is reproducible', () => {
  let outDir: string;
  beforeAll(async () => {
    outDir = await mkdtemp(join(tmpdir(), 'maskq-convert-'));
    await convert(['--out', outDir]);
  });
  afterAll(async () => {
    await rm(outDir, { recursive: true, force: true });
  });

  it.each(files)('rebuilds %s byte for byte', async (file) => {
    const [fresh, committed] = await Promise.all([readFile(join(outDir, file)), readFile(join(modelDir, file))]);
    expect(fresh.length).toBe(committed.length);
    expect(fresh.equals(committed)).toBe(true);
  });

  it("the model's sha256 and size are the manifest's", async () => {
    const manifest = modelManifestSchema.parse(JSON.parse(await readFile(join(modelDir, 'model.json'), 'utf8')));
    const onnx = await readFile(join(modelDir, manifest.model.file));
    expect(createHash('sha256').update(onnx).digest('hex')).toBe(manifest.model.sha256);
    expect(onnx.length).toBe(manifest.model.bytes);
  });

  it('--check passes on the committed files and fails on a changed one', async () => {
    const ok = await convert(['--check']);
    expect(ok.stdout).toMatch(/up to date/);

    const copy = await mkdtemp(join(tmpdir(), 'maskq-check-'));
    try {
      for (const file of files) await copyFile(join(modelDir, file), join(copy, file));
      const manifest = JSON.parse(await readFile(join(copy, 'model.json'), 'utf8'));
      manifest.thresholds.score = 0.6;
      await writeFile(join(copy, 'model.json'), `${JSON.stringify(manifest, null, 2)}\n`);
      const failed = await convert(['--check', '--out', copy]).then(
        () => null,
        (err: { code: number; stderr: string }) => err,
      );
      expect(failed?.code).toBe(1);
      expect(failed?.stderr).toMatch(/differs: .*model\.json/);
      expect(failed?.stderr).not.toMatch(/model\.onnx/);
    } finally {
      await rm(copy, { recursive: true, force: true });
    }
  });
});
