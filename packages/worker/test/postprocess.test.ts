import { describe, expect, it } from 'vitest';
import {
  countAnchors,
  decodeBox,
  generateAnchors,
  iou,
  nonMaxSuppression,
  postprocess,
  roundTo,
  selectCandidates,
  toDetectionResult,
  toPixelBox,
  type AnchorConfig,
  type Candidate,
} from '@maskq/worker/detector';

// The AIZOO face-mask model's anchor config (shared README).
const config: AnchorConfig = {
  featureMapSizes: [
    [33, 33],
    [17, 17],
    [9, 9],
    [5, 5],
    [3, 3],
  ],
  sizes: [
    [0.04, 0.056],
    [0.08, 0.11],
    [0.16, 0.22],
    [0.32, 0.45],
    [0.64, 0.72],
  ],
  ratios: Array.from({ length: 5 }, () => [1, 0.62, 0.42]),
};
const variances = [0.1, 0.1, 0.2, 0.2] as const;

describe('anchors', () => {
  const anchors = generateAnchors(config);

  it('has one anchor per model output row (5972)', () => {
    expect(countAnchors(config)).toBe(5972);
    expect(anchors.count).toBe(5972);
    expect(anchors.data.length).toBe(5972 * 4);
  });

  it('starts with the top-left cell of the 33×33 map, sizes first then ratios', () => {
    const c = 0.5 / 33;
    const first = Array.from(anchors.data.subarray(0, 16));
    const expected = [
      [c, c, 0.04, 0.04],
      [c, c, 0.056, 0.056],
      [c, c, 0.04 * Math.sqrt(0.62), 0.04 / Math.sqrt(0.62)],
      [c, c, 0.04 * Math.sqrt(0.42), 0.04 / Math.sqrt(0.42)],
    ].flat();
    first.forEach((v, i) => expect(v).toBeCloseTo(expected[i]!, 12));
    // the next cell moves along x first
    expect(anchors.data[16]).toBeCloseTo(1.5 / 33, 12);
    expect(anchors.data[17]).toBeCloseTo(c, 12);
  });

  it('ends with the bottom-right cell of the 3×3 map', () => {
    const last = Array.from(anchors.data.subarray((5972 - 1) * 4));
    const c = 2.5 / 3;
    const expected = [c, c, 0.64 * Math.sqrt(0.42), 0.64 / Math.sqrt(0.42)];
    last.forEach((v, i) => expect(v).toBeCloseTo(expected[i]!, 12));
    // first anchor of the second level
    const l2 = 33 * 33 * 4 * 4;
    expect(anchors.data[l2]).toBeCloseTo(0.5 / 17, 12);
    expect(anchors.data[l2 + 2]).toBeCloseTo(0.08, 12);
  });

  it('refuses a config whose levels disagree', () => {
    expect(() => generateAnchors({ ...config, sizes: config.sizes.slice(1) })).toThrow(/one entry per level/);
  });
});

describe('decode', () => {
  const anchors = { count: 1, data: new Float64Array([0.5, 0.4, 0.2, 0.1]) };

  it('returns the anchor itself for zero offsets', () => {
    const box = decodeBox(new Float32Array([0, 0, 0, 0]), 0, anchors, 0, variances);
    expect(box[0]).toBeCloseTo(0.4, 6);
    expect(box[1]).toBeCloseTo(0.35, 6);
    expect(box[2]).toBeCloseTo(0.6, 6);
    expect(box[3]).toBeCloseTo(0.45, 6);
  });

  it('applies the variances: centre moves by d·0.1·size, size scales by exp(d·0.2)', () => {
    const box = decodeBox(new Float32Array([1, -2, Math.log(2) / 0.2, 0]), 0, anchors, 0, variances);
    const cx = 0.5 + 1 * 0.1 * 0.2;
    const cy = 0.4 - 2 * 0.1 * 0.1;
    expect(box[0]).toBeCloseTo(cx - 0.2, 6); // width doubled to 0.4
    expect(box[2]).toBeCloseTo(cx + 0.2, 6);
    expect(box[1]).toBeCloseTo(cy - 0.05, 6);
    expect(box[3]).toBeCloseTo(cy + 0.05, 6);
  });

  it('selects anchors above the threshold with their best class, per batch item', () => {
    const two = { count: 2, data: new Float64Array([0.25, 0.25, 0.1, 0.1, 0.75, 0.75, 0.1, 0.1]) };
    const loc = new Float32Array(2 * 2 * 4);
    // item 1: anchor 0 no_mask 0.9, anchor 1 below threshold
    const cls = new Float32Array([0.9, 0.1, 0.2, 0.3, 0.1, 0.9, 0.5, 0.4]);
    const item1 = selectCandidates(loc, cls, 1, two, 2, 0.5, variances);
    expect(item1).toHaveLength(1);
    expect(item1[0]!.classIndex).toBe(1);
    expect(item1[0]!.score).toBeCloseTo(0.9, 6);
    expect(item1[0]!.box[0]).toBeCloseTo(0.2, 6);
    const item0 = selectCandidates(loc, cls, 0, two, 2, 0.5, variances);
    expect(item0.map((c) => c.classIndex)).toEqual([0]);
  });
});

describe('NMS', () => {
  const cand = (score: number, box: [number, number, number, number], classIndex = 0): Candidate => ({ score, box, classIndex });

  it('computes IoU', () => {
    expect(iou([0, 0, 2, 2], [1, 1, 3, 3])).toBeCloseTo(1 / 7, 9);
    expect(iou([0, 0, 1, 1], [2, 2, 3, 3])).toBe(0);
    expect(iou([0, 0, 1, 1], [0, 0, 1, 1])).toBe(1);
  });

  it('keeps the best of overlapping boxes across classes, and separate boxes', () => {
    const kept = nonMaxSuppression(
      [
        cand(0.7, [0, 0, 1, 1], 0),
        cand(0.9, [0.05, 0, 1.05, 1], 1), // IoU with the first ≈ 0.9 → suppresses it, though another class
        cand(0.8, [2, 2, 3, 3], 0),
        cand(0.6, [0.6, 0, 1.6, 1], 0), // IoU with best ≈ 0.31 ≤ 0.4 → kept
      ],
      0.4,
    );
    expect(kept.map((k) => k.score)).toEqual([0.9, 0.8, 0.6]);
  });

  it('suppresses only above the threshold', () => {
    // IoU exactly 1/3
    const kept = nonMaxSuppression([cand(0.9, [0, 0, 2, 1]), cand(0.8, [1, 0, 3, 1])], 1 / 3);
    expect(kept).toHaveLength(2);
    expect(nonMaxSuppression([cand(0.9, [0, 0, 2, 1]), cand(0.8, [1, 0, 3, 1])], 0.3)).toHaveLength(1);
  });
});

describe('result', () => {
  it('clips to the image and scales to pixels', () => {
    expect(toPixelBox([-0.1, 0.25, 0.5, 1.2], 200, 100)).toEqual([0, 25, 100, 100]);
  });

  it('rounds scores to 4 decimals and boxes to 0.1 px, best first, with a summary', () => {
    const result = toDetectionResult(
      [
        { score: 0.612345, box: [0.5, 0.5, 0.75, 0.75], classIndex: 1 },
        { score: 0.987654, box: [0.123456, 0.1, 0.3, 0.4], classIndex: 0 },
      ],
      333,
      250,
      ['mask', 'no_mask'],
    );
    expect(result).toEqual({
      width: 333,
      height: 250,
      detections: [
        { label: 'mask', score: 0.9877, box: [41.1, 25, 99.9, 100] },
        { label: 'no_mask', score: 0.6123, box: [166.5, 125, 249.8, 187.5] },
      ],
      summary: { faces: 2, masked: 1, unmasked: 1 },
    });
    expect(roundTo(-0.00001, 1)).toBe(0);
    expect(Object.is(roundTo(-0.00001, 1), -0)).toBe(false);
  });

  it('postprocess: end to end on synthetic outputs', () => {
    const anchors = generateAnchors(config);
    const loc = new Float32Array(anchors.count * 4);
    const cls = new Float32Array(anchors.count * 2);
    // A no_mask face on the last anchor (centre of the bottom-right 3×3 cell) and a weaker duplicate next to it.
    const last = anchors.count - 1;
    cls[last * 2 + 1] = 0.95;
    cls[(last - 1) * 2 + 1] = 0.7; // same centre, ratio 0.62: IoU with the last > 0.4
    cls[5 * 2] = 0.4; // below threshold
    const result = postprocess({ loc, cls }, 0, 300, 300, {
      anchors,
      labels: ['mask', 'no_mask'],
      variances,
      scoreThreshold: 0.5,
      iouThreshold: 0.4,
    });
    expect(result.summary).toEqual({ faces: 1, masked: 0, unmasked: 1 });
    const w = 0.64 * Math.sqrt(0.42);
    const h = 0.64 / Math.sqrt(0.42);
    const c = 2.5 / 3;
    expect(result.detections[0]!.box).toEqual([
      roundTo((c - w / 2) * 300, 1),
      roundTo((c - h / 2) * 300, 1),
      300,
      300,
    ]);
  });
});
