import type { DetectionResult } from '@maskq/client/core';

const colours = { mask: '#1f9d4c', no_mask: '#e0402a' } as const;

/** Draws the original image with each detection's box and label, scaled to the image's own size. */
export async function drawDetections(canvas: HTMLCanvasElement, image: Blob, result: DetectionResult): Promise<void> {
  const bitmap = await createImageBitmap(image);
  canvas.width = bitmap.width;
  canvas.height = bitmap.height;
  const ctx = canvas.getContext('2d');
  if (!ctx) return;
  ctx.drawImage(bitmap, 0, 0);
  bitmap.close();
  // Results are in original-image pixels; scale in case the decoder saw another size.
  const sx = canvas.width / result.width;
  const sy = canvas.height / result.height;
  const line = Math.max(2, Math.round(Math.min(canvas.width, canvas.height) / 200));
  ctx.lineWidth = line;
  ctx.font = `${Math.max(12, line * 6)}px system-ui, sans-serif`;
  for (const d of result.detections) {
    const [x1, y1, x2, y2] = d.box;
    const colour = colours[d.label];
    ctx.strokeStyle = colour;
    ctx.strokeRect(x1 * sx, y1 * sy, (x2 - x1) * sx, (y2 - y1) * sy);
    const text = `${d.label === 'mask' ? 'mask' : 'no mask'} ${(d.score * 100).toFixed(0)}%`;
    const width = ctx.measureText(text).width + line * 2;
    const height = line * 8;
    const top = Math.max(0, y1 * sy - height);
    ctx.fillStyle = colour;
    ctx.fillRect(x1 * sx, top, width, height);
    ctx.fillStyle = '#fff';
    ctx.fillText(text, x1 * sx + line, top + height - line * 2);
  }
}
