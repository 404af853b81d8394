import sharp from 'sharp';
import type { Detection } from '@maskq/shared';

export type Rgb = [number, number, number];

/** Decodes a JPEG (or any image) to RGB pixels. */
export async function decodeRgb(bytes: Buffer): Promise<{ width: number; height: number; at(x: number, y: number): Rgb }> {
  const { data, info } = await sharp(bytes).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return {
    width: info.width,
    height: info.height,
    at(x, y) {
      const i = (Math.round(y) * info.width + Math.round(x)) * info.channels;
      return [data[i]!, data[i + 1]!, data[i + 2]!];
    },
  };
}

/** Green clearly above red and blue (JPEG blurs colours, hence a margin, not exact values). */
export const greenDominant = ([r, g, b]: Rgb): boolean => g > r + 60 && g > b + 60;
export const redDominant = ([r, g, b]: Rgb): boolean => r > g + 60 && r > b + 60;

/**
 * Points along the four edges of a box (20 %..80 % of each side), pulled
 * inside the picture the way the renderer keeps its strokes inside.
 */
export function edgePoints(box: Detection['box'], width: number, height: number, inset: number): Array<[number, number]> {
  const clamp = (v: number, lo: number, hi: number) => Math.min(Math.max(v, lo), hi);
  const x1 = clamp(box[0], inset, width - 1 - inset);
  const y1 = clamp(box[1], inset, height - 1 - inset);
  const x2 = clamp(box[2], inset, width - 1 - inset);
  const y2 = clamp(box[3], inset, height - 1 - inset);
  const points: Array<[number, number]> = [];
  for (const t of [0.2, 0.35, 0.5, 0.65, 0.8]) {
    const x = x1 + (x2 - x1) * t;
    const y = y1 + (y2 - y1) * t;
    points.push([x1, y], [x2, y], [x, y1], [x, y2]);
  }
  return points;
}

/** Which sampled edge points do not have the label's colour (empty = every point on the box is coloured). */
export async function offColourPoints(jpeg: Buffer, detections: readonly Detection[]): Promise<string[]> {
  const image = await decodeRgb(jpeg);
  const stroke = Math.max(2, Math.round(Math.min(image.width, image.height) / 150));
  const wrong: string[] = [];
  for (const d of detections) {
    const ok = d.label === 'mask' ? greenDominant : redDominant;
    for (const [x, y] of edgePoints(d.box, image.width, image.height, stroke / 2)) {
      const pixel = image.at(x, y);
      if (!ok(pixel)) wrong.push(`${d.label} [${d.box.join(',')}] at (${Math.round(x)},${Math.round(y)}): rgb(${pixel.join(',')})`);
    }
  }
  return wrong;
}
