import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { modelManifestSchema } from '@maskq/shared';
import { int8ModelDir, repoRoot } from '../../../test-support/paths.js';

const run = promisify(execFile);
const files = ['model.onnx', 'model.json', 'LICENSE'];

/** Runs the real CLI (`pnpm convert --int8` is this command): converts, calibrates on 300 photos, quantizes. */
function convertInt8(args: string[]) {
  return run(process.execPath, ['--conditions=source', '--import', 'tsx', 'models/converter/src/main.ts', '--int8', ...args], {
    cwd: repoRoot,
  });
}

describe('pnpm convert --int8 is reproducible', () => {
  let outDir: string;
  beforeAll(async () => {
    outDir = await mkdtemp(join(tmpdir(), 'maskq-int8-'));
    await convertInt8(['--out', outDir]);
  }, 300_000);
  afterAll(async () => {
    await rm(outDir, { recursive: true, force: true });
  });

  it.each(files)('rebuilds %s byte for byte', async (file) => {
    const [fresh, committed] = await Promise.all([readFile(join(outDir, file)), readFile(join(int8ModelDir, file))]);
    expect(fresh.length).toBe(committed.length);
    expect(fresh.equals(committed)).toBe(true);
  });

  it("the model's sha256 and size are the manifest's", async () => {
    const manifest = modelManifestSchema.parse(JSON.parse(await readFile(join(int8ModelDir, 'model.json'), 'utf8')));
    const onnx = await readFile(join(int8ModelDir, manifest.model.file));
    expect(createHash('sha256').update(onnx).digest('hex')).toBe(manifest.model.sha256);
    expect(onnx.length).toBe(manifest.model.bytes);
  });
});
