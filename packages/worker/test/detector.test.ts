import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MaskqError, type DetectionResult } from '@maskq/shared';
import { Detector, defaultModelDir, loadModelSpec, type DetectorLogger } from '@maskq/worker/detector';
import { fixtureImagesDir, modelDir } from '../../../test-support/paths.js';

const image = (name: string) => readFile(join(fixtureImagesDir, name));

function recordingLogger(): DetectorLogger & { lines: Array<{ level: string; obj: object; msg?: string }> } {
  const lines: Array<{ level: string; obj: object; msg?: string }> = [];
  return {
    lines,
    info: (obj, msg) => lines.push({ level: 'info', obj, msg }),
    warn: (obj, msg) => lines.push({ level: 'warn', obj, msg }),
  };
}

describe('Detector', () => {
  let detector: Detector;
  beforeAll(async () => {
    detector = await Detector.create({ modelDir, intraOpThreads: 1, maxBatchSize: 3 });
  });
  afterAll(async () => {
    await detector?.close();
  });

  it('finds the repository model by default and reads its manifest', async () => {
    expect(defaultModelDir()).toBe(modelDir);
    expect(detector.model.name).toBe('aizoo-face-mask');
    expect(detector.model.labels).toEqual(['mask', 'no_mask']);
    expect(detector.executionProvider).toBe('cpu');
  });

  it('detect(): one image, and a typed error for bad bytes', async () => {
    const result = await detector.detect(await image('nomask_01.jpg'));
    expect(result.summary.unmasked).toBeGreaterThanOrEqual(1);
    await expect(detector.detect(Buffer.from('not an image'))).rejects.toMatchObject({ code: 'invalid_image' });
  });

  it('detectBatch(): a bad image fails only itself, over several inference chunks, same answers as one by one', async () => {
    const names = ['mask_01.jpg', 'nomask_02.jpg', 'scene_4faces_1280x720.jpg', 'mask_08.png', 'aizoo_demo2.jpg'];
    const good = await Promise.all(names.map(image));
    const svg = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"/>');
    const inputs = [good[0]!, Buffer.alloc(0), good[1]!, good[2]!, svg, good[3]!, good[4]!];
    const out = await detector.detectBatch(inputs);
    expect(out).toHaveLength(inputs.length);
    expect((out[1] as MaskqError).code).toBe('invalid_image');
    expect((out[4] as MaskqError).code).toBe('unsupported_format');
    const ok = [out[0], out[2], out[3], out[5], out[6]] as DetectionResult[];
    for (const r of ok) expect(r).not.toBeInstanceOf(Error);
    const single = await Promise.all(good.map((g) => detector.detect(g)));
    expect(ok).toEqual(single);
    expect(ok[2]!.summary.faces).toBe(4);
  });

  it('runs with non-spinning intra-op threads and gives the same answer', async () => {
    const d = await Detector.create({ intraOpThreads: 2, intraOpSpinning: false });
    try {
      const bytes = await image('scene_4faces_1280x720.jpg');
      expect(await d.detect(bytes)).toEqual(await detector.detect(bytes));
    } finally {
      await d.close();
    }
  });

  it('inferenceThreads: chunks infer at once on worker threads, with the same answers in the same order', async () => {
    const names = ['mask_01.jpg', 'nomask_02.jpg', 'scene_4faces_1280x720.jpg', 'mask_08.png', 'aizoo_demo2.jpg'];
    const good = await Promise.all(names.map(image));
    // 11 items in chunks of 3: four chunks, up to three in flight at once.
    const inputs = [...good, Buffer.from('junk'), ...good];
    const threaded = await Detector.create({ inferenceThreads: 2, maxBatchSize: 3 });
    try {
      expect(threaded.executionProvider).toBe('cpu');
      const [out, reference] = await Promise.all([threaded.detectBatch(inputs), detector.detectBatch(inputs)]);
      expect((out[5] as MaskqError).code).toBe('invalid_image');
      expect(out).toEqual(reference);
      // Two calls at once share the threads and each still gets its own answers.
      const [a, b] = await Promise.all([threaded.detectBatch(good), threaded.detectBatch([...good].reverse())]);
      expect(a).toEqual(reference.slice(0, 5));
      expect(b).toEqual(reference.slice(0, 5).reverse());
    } finally {
      await threaded.close();
    }
    await expect(threaded.detect(good[0]!)).rejects.toMatchObject({ code: 'unavailable' });
    await expect(Detector.create({ inferenceThreads: -1 })).rejects.toBeInstanceOf(RangeError);
  });

  it('refuses to work after close()', async () => {
    const d = await Detector.create({ intraOpThreads: 1 });
    await d.close();
    await expect(d.detect(await image('mask_01.jpg'))).rejects.toMatchObject({ code: 'unavailable' });
  });
});

describe('model loading', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'maskq-model-'));
    await copyFile(join(modelDir, 'model.onnx'), join(dir, 'model.onnx'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('refuses a model file whose sha256 differs from the manifest', async () => {
    const manifest = JSON.parse(await readFile(join(modelDir, 'model.json'), 'utf8')) as { model: { sha256: string } };
    manifest.model.sha256 = '0'.repeat(64);
    await writeFile(join(dir, 'model.json'), JSON.stringify(manifest));
    await expect(loadModelSpec(dir)).rejects.toMatchObject({ code: 'unavailable', message: expect.stringMatching(/sha256/) });
  });

  it('refuses an invalid manifest and a missing folder', async () => {
    await writeFile(join(dir, 'model.json'), JSON.stringify({ schemaVersion: 1, name: 'x' }));
    await expect(loadModelSpec(dir)).rejects.toMatchObject({ code: 'unavailable', message: expect.stringMatching(/manifest/) });
    await expect(Detector.create({ modelDir: join(dir, 'nope') })).rejects.toBeInstanceOf(MaskqError);
  });
});

describe('EXECUTION_PROVIDER=cuda without CUDA (onnxruntime-node 1.30 CPU install)', () => {
  it('falls back to CPU with a warning that says so', async () => {
    const logger = recordingLogger();
    const d = await Detector.create({ executionProvider: 'cuda', intraOpThreads: 1, logger });
    try {
      expect(d.executionProvider).toBe('cpu');
      const warn = logger.lines.find((l) => l.level === 'warn');
      expect(warn?.msg).toMatch(/CUDA execution provider unavailable, falling back to CPU/);
      expect(warn?.obj).toMatchObject({ requested: 'cuda', using: 'cpu' });
      expect((await d.detect(await image('mask_03.jpg'))).summary.masked).toBe(1);
    } finally {
      await d.close();
    }
  });

  it('with cudaFallback false, fails with a clear error', async () => {
    const err = await Detector.create({ executionProvider: 'cuda', cudaFallback: false }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MaskqError);
    expect((err as MaskqError).code).toBe('unavailable');
    expect((err as MaskqError).message).toMatch(/EXECUTION_PROVIDER=cuda.*CUDA execution provider cannot be used/);
  });
});
