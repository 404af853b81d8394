import { bilinearTaps, type RawImage } from '../src/detector/preprocess/resize.js';
const unit = new Float32Array(256).map((_, i) => i / 255);
export function resizeFast(image: RawImage, tensor: Float32Array, offset: number, dstWidth: number, dstHeight: number): void {
  const { data, width, height, channels } = image;
  const xs = bilinearTaps(width, dstWidth);
  const ys = bilinearTaps(height, dstHeight);
  const x0 = new Int32Array(dstWidth), x1 = new Int32Array(dstWidth);
  for (let dx = 0; dx < dstWidth; dx++) { x0[dx] = xs.i0[dx]! * channels; x1[dx] = xs.i1[dx]! * channels; }
  const wxs = xs.w1;
  const plane = dstWidth * dstHeight;
  const stride = width * channels;
  const g = channels >= 3 ? 1 : 0, b = channels >= 3 ? 2 : 0;
  for (let dy = 0; dy < dstHeight; dy++) {
    const row0 = ys.i0[dy]! * stride;
    const row1 = ys.i1[dy]! * stride;
    const wy = ys.w1[dy]!;
    let out = offset + dy * dstWidth;
    for (let dx = 0; dx < dstWidth; dx++, out++) {
      const wx = wxs[dx]!;
      const a = row0 + x0[dx]!, bb = row0 + x1[dx]!, c = row1 + x0[dx]!, d = row1 + x1[dx]!;
      let p = data[a]!, q = data[c]!;
      let top = p + (data[bb]! - p) * wx, bot = q + (data[d]! - q) * wx;
      tensor[out] = unit[(top + (bot - top) * wy + 0.5) | 0]!;
      p = data[a + g]!; q = data[c + g]!;
      top = p + (data[bb + g]! - p) * wx; bot = q + (data[d + g]! - q) * wx;
      tensor[out + plane] = unit[(top + (bot - top) * wy + 0.5) | 0]!;
      p = data[a + b]!; q = data[c + b]!;
      top = p + (data[bb + b]! - p) * wx; bot = q + (data[d + b]! - q) * wx;
      tensor[out + 2 * plane] = unit[(top + (bot - top) * wy + 0.5) | 0]!;
    }
  }
}
