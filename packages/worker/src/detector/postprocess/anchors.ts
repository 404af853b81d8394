/**
 * SSD prior boxes of the AIZOO face-mask model, generated from the manifest's
 * anchor config exactly as the model's own inference code does.
 */
export interface AnchorConfig {
  /** [width, height] of each feature map, coarsest last. */
  featureMapSizes: ReadonlyArray<readonly [number, number]>;
  /** Anchor sizes (fraction of the image) per level. */
  sizes: ReadonlyArray<readonly number[]>;
  /** Aspect ratios (w/h) per level; the first is paired with every size. */
  ratios: ReadonlyArray<readonly number[]>;
}

/** Anchors as a flat array of [cx, cy, w, h] (normalised to the image), in model output order. */
export interface Anchors {
  readonly count: number;
  readonly data: Float64Array;
}

export function anchorsPerCell(sizes: readonly number[], ratios: readonly number[]): number {
  return sizes.length + ratios.length - 1;
}

export function countAnchors(config: AnchorConfig): number {
  let total = 0;
  config.featureMapSizes.forEach(([w, h], level) => {
    total += w * h * anchorsPerCell(config.sizes[level] ?? [], config.ratios[level] ?? []);
  });
  return total;
}

/**
 * Level by level; inside a level row by row (y), then column (x), then the
 * anchors of the cell: every size with the first ratio, then the first size
 * with the other ratios. width = s·√r, height = s/√r, centre ((x+0.5)/W, (y+0.5)/H).
 */
export function generateAnchors(config: AnchorConfig): Anchors {
  if (config.sizes.length !== config.featureMapSizes.length || config.ratios.length !== config.featureMapSizes.length) {
    throw new Error('anchor config: featureMapSizes, sizes and ratios must have one entry per level');
  }
  const count = countAnchors(config);
  const data = new Float64Array(count * 4);
  let o = 0;
  config.featureMapSizes.forEach(([fw, fh], level) => {
    const sizes = config.sizes[level]!;
    const ratios = config.ratios[level]!;
    if (sizes.length === 0 || ratios.length === 0) throw new Error(`anchor config: level ${level} has no sizes or ratios`);
    const shapes: Array<[number, number]> = [];
    for (const s of sizes) shapes.push([s * Math.sqrt(ratios[0]!), s / Math.sqrt(ratios[0]!)]);
    for (const r of ratios.slice(1)) shapes.push([sizes[0]! * Math.sqrt(r), sizes[0]! / Math.sqrt(r)]);
    for (let y = 0; y < fh; y++) {
      const cy = (y + 0.5) / fh;
      for (let x = 0; x < fw; x++) {
        const cx = (x + 0.5) / fw;
        for (const [w, h] of shapes) {
          data[o++] = cx;
          data[o++] = cy;
          data[o++] = w;
          data[o++] = h;
        }
      }
    }
  });
  return { count, data };
}
