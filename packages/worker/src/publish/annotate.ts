import sharp from 'sharp';
import type { Detection } from '@maskq/shared';

/** Box colours: green for a mask, red for no mask (RGB). */
export const annotationColours = {
  mask: '#00c800',
  no_mask: '#e60000',
} as const satisfies Record<Detection['label'], string>;

export interface AnnotateOptions {
  /** The same pixel bound the detector decoded the image under. */
  maxPixels: number;
  /** JPEG quality, 1-100 (default 85). */
  quality?: number;
}

const escapeXml = (text: string): string =>
  text.replace(/[<>&'"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[c]!);

const clamp = (value: number, min: number, max: number): number => Math.min(Math.max(value, min), Math.max(min, max));

/**
 * SVG overlay, the size of the (EXIF-oriented) image, with one stroked box per
 * face and a filled label tag ("mask 0.97") above it, or inside it when the box
 * touches the top edge. Pure, so it is testable without decoding anything.
 */
export function annotationSvg(width: number, height: number, detections: readonly Detection[]): string {
  const stroke = Math.max(2, Math.round(Math.min(width, height) / 150));
  const fontSize = Math.max(10, Math.round(Math.min(width, height) / 30));
  const tagHeight = Math.round(fontSize * 1.3);
  const parts: string[] = [];
  for (const { label, score, box } of detections) {
    const colour = annotationColours[label];
    // Keep the whole stroke inside the picture, so boxes at the border stay visible.
    const half = stroke / 2;
    const x1 = clamp(box[0], half, width - half);
    const y1 = clamp(box[1], half, height - half);
    const x2 = clamp(box[2], x1, width - half);
    const y2 = clamp(box[3], y1, height - half);
    parts.push(
      `<rect x="${x1.toFixed(1)}" y="${y1.toFixed(1)}" width="${(x2 - x1).toFixed(1)}" height="${(y2 - y1).toFixed(1)}" fill="none" stroke="${colour}" stroke-width="${stroke}"/>`,
    );
    const text = escapeXml(`${label} ${score.toFixed(2)}`);
    const tagWidth = Math.round(text.length * fontSize * 0.62 + stroke * 2);
    const tagX = clamp(x1 - half, 0, width - tagWidth);
    const tagY = y1 - half - tagHeight >= 0 ? y1 - half - tagHeight : y1 + half;
    parts.push(
      `<rect x="${tagX.toFixed(1)}" y="${tagY.toFixed(1)}" width="${tagWidth}" height="${tagHeight}" fill="${colour}"/>`,
      `<text x="${(tagX + stroke).toFixed(1)}" y="${(tagY + fontSize).toFixed(1)}" font-family="DejaVu Sans, Arial, sans-serif" font-size="${fontSize}" fill="#ffffff">${text}</text>`,
    );
  }
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">${parts.join('')}</svg>`;
}

/**
 * The image with each face boxed and labelled, as JPEG. Decodes the original
 * bytes the way the detector did (EXIF orientation applied, same pixel bound),
 * so the boxes, which are in oriented pixels, line up. sharp and librsvg only:
 * no browser, off the JS thread.
 */
export async function renderAnnotated(bytes: Buffer, detections: readonly Detection[], options: AnnotateOptions): Promise<Buffer> {
  const oriented = await sharp(bytes, { failOn: 'error', limitInputPixels: options.maxPixels, animated: false })
    .autoOrient()
    .flatten({ background: '#ffffff' })
    .raw()
    .toBuffer({ resolveWithObject: true });
  const { width, height, channels } = oriented.info;
  return sharp(oriented.data, { raw: { width, height, channels } })
    .composite([{ input: Buffer.from(annotationSvg(width, height, detections)), top: 0, left: 0 }])
    .jpeg({ quality: options.quality ?? 85, mozjpeg: false })
    .toBuffer();
}
