import { describe, expect, it } from 'vitest';
import { createBatchTensor, createOrtSession, InferenceThreadPool, loadModelSpec, preprocessInto } from '@maskq/worker/detector';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fixtureImagesDir } from '../../../test-support/paths.js';

describe('InferenceThreadPool', () => {
  it('runs batches on its threads (the batch buffer moves there) with the outputs of an in-process session', async () => {
    const spec = await loadModelSpec();
    const sessionOptions = { model: spec.modelPath, inputName: spec.inputName, imageShape: spec.imageShape, outputNames: spec.outputNames, intraOpThreads: 1 };
    const names = ['mask_01.jpg', 'nomask_02.jpg', 'scene_4faces_1280x720.jpg'];
    const batches = await Promise.all(
      names.map(async (name) => {
        const tensor = createBatchTensor(1);
        await preprocessInto(await readFile(join(fixtureImagesDir, name)), tensor, 0);
        return tensor;
      }),
    );
    const local = await createOrtSession(sessionOptions);
    const expected = await Promise.all(batches.map((b) => local.run(b, 1)));
    await local.close();

    const pool = await InferenceThreadPool.start({ size: 2, session: sessionOptions, model: { name: spec.name, version: spec.version } });
    try {
      expect(pool.size).toBe(2);
      expect(pool.executionProvider).toBe('cpu');
      const copies = batches.map((b) => b.slice());
      const outputs = await Promise.all(copies.map((b) => pool.run(b, 1)));
      for (const copy of copies) expect(copy.byteLength).toBe(0); // transferred to a thread, not copied
      outputs.forEach((out, i) => {
        expect(out.loc).toEqual(expected[i]!.loc);
        expect(out.cls).toEqual(expected[i]!.cls);
      });
    } finally {
      await pool.close();
    }
    await expect(pool.run(batches[0]!, 1)).rejects.toMatchObject({ code: 'unavailable' });
    await expect(InferenceThreadPool.start({ size: 0, session: sessionOptions, model: { name: spec.name, version: spec.version } })).rejects.toBeInstanceOf(RangeError);
  });

  it('fails to start with a typed error when the model cannot be loaded', async () => {
    const spec = await loadModelSpec();
    const start = InferenceThreadPool.start({
      size: 2,
      session: { model: '/nonexistent/model.onnx', inputName: spec.inputName, imageShape: spec.imageShape },
      model: { name: spec.name, version: spec.version },
    });
    await expect(start).rejects.toMatchObject({ code: 'unavailable' });
  });
});
