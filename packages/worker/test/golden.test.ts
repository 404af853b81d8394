import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { detectionResultSchema, type DetectionResult } from '@maskq/shared';
import { Detector, iou } from '@maskq/worker/detector';
import { fixtureImagesDir, fixturesDir } from '../../../test-support/paths.js';

interface Golden {
  images: Record<string, Omit<DetectionResult, 'summary'>>;
}

const golden = JSON.parse(await readFile(join(fixturesDir, 'golden.json'), 'utf8')) as Golden;
const names = Object.keys(golden.images);

describe('golden: the library answers what the original model answered under OpenCV', () => {
  let detector: Detector;
  const results = new Map<string, DetectionResult>();
  let worstIou = 1;
  let worstScore = 0;

  beforeAll(async () => {
    detector = await Detector.create({ intraOpThreads: 1 });
    const bytes = await Promise.all(names.map((n) => readFile(join(fixtureImagesDir, n))));
    // One batch call for all fixtures: also proves items of a batch do not leak into each other.
    const answers = await detector.detectBatch(bytes);
    answers.forEach((a, i) => {
      if (a instanceof Error) throw a;
      results.set(names[i]!, a);
    });
  });

  afterAll(async () => {
    await detector?.close();
    console.log(`golden: ${names.length} images, worst box IoU ${worstIou.toFixed(4)}, worst score diff ${worstScore.toFixed(4)}`);
  });

  it('covers every fixture, including both camera-size scenes', () => {
    expect(names.length).toBeGreaterThanOrEqual(19);
    expect(names).toContain('scene_5faces_1920x1080.jpg');
    expect(names).toContain('scene_4faces_1280x720.jpg');
  });

  it.each(names)('%s', (name) => {
    const expected = golden.images[name]!;
    const actual = results.get(name)!;
    expect(detectionResultSchema.parse(actual)).toEqual(actual);
    expect([actual.width, actual.height]).toEqual([expected.width, expected.height]);
    expect(actual.detections).toHaveLength(expected.detections.length);
    const unused = new Set(actual.detections.keys());
    for (const ref of expected.detections) {
      // pair with the closest unused detection
      let best = -1;
      let bestIou = -1;
      for (const k of unused) {
        const v = iou(ref.box, actual.detections[k]!.box);
        if (v > bestIou) [best, bestIou] = [k, v];
      }
      const match = actual.detections[best]!;
      unused.delete(best);
      expect(match.label).toBe(ref.label);
      expect(bestIou).toBeGreaterThanOrEqual(0.85);
      expect(Math.abs(match.score - ref.score)).toBeLessThanOrEqual(0.05);
      worstIou = Math.min(worstIou, bestIou);
      worstScore = Math.max(worstScore, Math.abs(match.score - ref.score));
    }
    const masked = actual.detections.filter((d) => d.label === 'mask').length;
    expect(actual.summary).toEqual({ faces: actual.detections.length, masked, unmasked: actual.detections.length - masked });
    // best first
    const scores = actual.detections.map((d) => d.score);
    expect(scores).toEqual([...scores].sort((a, b) => b - a));
  });
});
