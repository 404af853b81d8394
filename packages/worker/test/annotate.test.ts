import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import type { Detection } from '@maskq/shared';
import { annotationSvg, renderAnnotated } from '../src/publish/annotate.js';
import { fixtureImagesDir, fixturesDir } from '../../../test-support/paths.js';
import { decodeRgb, greenDominant, offColourPoints, redDominant } from './support/box-pixels.js';

const golden = JSON.parse(readFileSync(join(fixturesDir, 'golden.json'), 'utf8')) as {
  images: Record<string, { width: number; height: number; detections: Detection[] }>;
};
const maxPixels = 50_000_000;

describe('annotated images', () => {
  it('boxes masks green and bare faces red, on the boxes, as a JPEG of the original size', async () => {
    const name = 'scene_4faces_1280x720.jpg';
    const { detections, width, height } = golden.images[name]!;
    expect(new Set(detections.map((d) => d.label))).toEqual(new Set(['mask', 'no_mask']));
    const jpeg = await renderAnnotated(readFileSync(join(fixtureImagesDir, name)), detections, { maxPixels });
    const meta = await sharp(jpeg).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(['jpeg', width, height]);
    expect(await offColourPoints(jpeg, detections)).toEqual([]);

    // The box colours are the annotation's, not the photo's: without it the same points are not all coloured.
    const plain = await sharp(readFileSync(join(fixtureImagesDir, name))).jpeg().toBuffer();
    expect((await offColourPoints(plain, detections)).length).toBeGreaterThan(0);
  });

  it('keeps boxes on the image border visible (stroke pulled inside)', async () => {
    const name = 'mask_07.jpg'; // its face box is the whole picture
    const { detections } = golden.images[name]!;
    const jpeg = await renderAnnotated(readFileSync(join(fixtureImagesDir, name)), detections, { maxPixels });
    expect(await offColourPoints(jpeg, detections)).toEqual([]);
  });

  it('applies EXIF orientation like the detector, so boxes land on the oriented picture', async () => {
    // 200x100 landscape pixels stored with orientation 6 (shown rotated 90° clockwise: 100x200).
    const stored = await sharp({ create: { width: 200, height: 100, channels: 3, background: '#808080' } })
      .jpeg()
      .withMetadata({ orientation: 6 })
      .toBuffer();
    const box: Detection = { label: 'no_mask', score: 0.9, box: [20, 40, 80, 160] };
    const jpeg = await renderAnnotated(stored, [box], { maxPixels });
    const image = await decodeRgb(jpeg);
    expect([image.width, image.height]).toEqual([100, 200]);
    expect(await offColourPoints(jpeg, [box])).toEqual([]);
    expect(redDominant(image.at(50, 100))).toBe(false); // inside the box: the photo
    expect(greenDominant(image.at(20, 100))).toBe(false);
  });

  it('escapes label text into the SVG and refuses undecodable bytes', async () => {
    const svg = annotationSvg(100, 100, [{ label: 'mask', score: 0.5, box: [10, 10, 50, 50] }]);
    expect(svg).toContain('mask 0.50');
    expect(svg).toContain('stroke="#00c800"');
    const corrupt = Buffer.concat([readFileSync(join(fixtureImagesDir, 'mask_01.jpg')).subarray(0, 300), Buffer.alloc(2000, 7)]);
    await expect(renderAnnotated(corrupt, [], { maxPixels })).rejects.toThrow();
  });
});
