import { bilinearTaps, type RawImage } from '../src/detector/preprocess/resize.js';
const unit = new Float32Array(256).map((_, i) => i / 255);
export function resizeInt(image: RawImage, tensor: Float32Array, offset: number, dstWidth: number, dstHeight: number): void {
  const { data, width, height, channels } = image;
  const xs = bilinearTaps(width, dstWidth);
  const ys = bilinearTaps(height, dstHeight);
  const x0 = new Int32Array(dstWidth), x1 = new Int32Array(dstWidth), wxi = new Int32Array(dstWidth);
  for (let dx = 0; dx < dstWidth; dx++) { x0[dx] = xs.i0[dx]! * channels; x1[dx] = xs.i1[dx]! * channels; wxi[dx] = Math.round(xs.w1[dx]! * 2048); }
  const plane = dstWidth * dstHeight;
  const stride = width * channels;
  const g = channels >= 3 ? 1 : 0, b = channels >= 3 ? 2 : 0;
  for (let dy = 0; dy < dstHeight; dy++) {
    const row0 = ys.i0[dy]! * stride;
    const row1 = ys.i1[dy]! * stride;
    const wy = Math.round(ys.w1[dy]! * 2048);
    let out = offset + dy * dstWidth;
    for (let dx = 0; dx < dstWidth; dx++, out++) {
      const wx = wxi[dx]!;
      const a = row0 + x0[dx]!, bb = row0 + x1[dx]!, c = row1 + x0[dx]!, d = row1 + x1[dx]!;
      let p = data[a]!, q = data[c]!;
      let top = (p << 11) + (data[bb]! - p) * wx, bot = (q << 11) + (data[d]! - q) * wx;
      tensor[out] = unit[((top << 11) + (bot - top) * wy + 2097152) >> 22]!;
      p = data[a + g]!; q = data[c + g]!;
      top = (p << 11) + (data[bb + g]! - p) * wx; bot = (q << 11) + (data[d + g]! - q) * wx;
      tensor[out + plane] = unit[((top << 11) + (bot - top) * wy + 2097152) >> 22]!;
      p = data[a + b]!; q = data[c + b]!;
      top = (p << 11) + (data[bb + b]! - p) * wx; bot = (q << 11) + (data[d + b]! - q) * wx;
      tensor[out + 2 * plane] = unit[((top << 11) + (bot - top) * wy + 2097152) >> 22]!;
    }
  }
}
