/**
 * Bilinear resize with half-pixel centres and no anti-aliasing (what OpenCV's
 * INTER_LINEAR does, and what the model's reference answers were made with),
 * fused with the layout change: interleaved 8-bit pixels in, planar float32
 * RGB / 255 out, written straight into a batch tensor.
 *
 * sharp's own resize anti-aliases on large downscales, which moves boxes on
 * camera-size frames beyond the golden tolerance, so this runs in JS on the
 * decoded pixels (260×260×3 outputs: cheap next to decoding).
 */
export interface RawImage {
  data: Uint8Array;
  width: number;
  height: number;
  /** 1 grey, 2 grey+alpha, 3 RGB, 4 RGBA; alpha is ignored. */
  channels: number;
}

interface AxisTaps {
  i0: Int32Array;
  i1: Int32Array;
  w1: Float32Array;
}

/** For each output coordinate: the two source coordinates and the weight of the second (OpenCV's rule at the borders). */
export function bilinearTaps(srcSize: number, dstSize: number): AxisTaps {
  const i0 = new Int32Array(dstSize);
  const i1 = new Int32Array(dstSize);
  const w1 = new Float32Array(dstSize);
  const scale = srcSize / dstSize;
  for (let d = 0; d < dstSize; d++) {
    const f = (d + 0.5) * scale - 0.5;
    let s = Math.floor(f);
    let frac = f - s;
    if (s < 0) {
      s = 0;
      frac = 0;
    }
    if (s >= srcSize - 1) {
      s = srcSize - 1;
      frac = 0;
    }
    i0[d] = s;
    i1[d] = Math.min(s + 1, srcSize - 1);
    w1[d] = frac;
  }
  return { i0, i1, w1 };
}

/**
 * Writes `image` resized to dstWidth × dstHeight into `tensor` at `offset`
 * as three planes R, G, B with values in [0, 1]. Each interpolated value is
 * rounded to 8 bits first, as OpenCV's uint8 resize does.
 */
export function resizeBilinearToPlanar(
  image: RawImage,
  tensor: Float32Array,
  offset: number,
  dstWidth: number,
  dstHeight: number,
): void {
  const { data, width, height, channels } = image;
  if (channels < 1 || channels > 4) throw new Error(`unsupported channel count ${channels}`);
  if (data.length < width * height * channels) throw new Error('pixel buffer shorter than width × height × channels');
  if (offset < 0 || offset + 3 * dstWidth * dstHeight > tensor.length) throw new Error('tensor slot out of range');
  const xs = bilinearTaps(width, dstWidth);
  const ys = bilinearTaps(height, dstHeight);
  const plane = dstWidth * dstHeight;
  // Grey images feed the same channel to R, G and B.
  const colourChannels = channels >= 3 ? 3 : 1;
  const stride = width * channels;
  for (let dy = 0; dy < dstHeight; dy++) {
    const row0 = ys.i0[dy]! * stride;
    const row1 = ys.i1[dy]! * stride;
    const wy = ys.w1[dy]!;
    for (let dx = 0; dx < dstWidth; dx++) {
      const c0 = xs.i0[dx]! * channels;
      const c1 = xs.i1[dx]! * channels;
      const wx = xs.w1[dx]!;
      const out = offset + dy * dstWidth + dx;
      for (let c = 0; c < 3; c++) {
        const k = c < colourChannels ? c : 0;
        const top = data[row0 + c0 + k]! + (data[row0 + c1 + k]! - data[row0 + c0 + k]!) * wx;
        const bottom = data[row1 + c0 + k]! + (data[row1 + c1 + k]! - data[row1 + c0 + k]!) * wx;
        const v = top + (bottom - top) * wy;
        tensor[out + c * plane] = Math.round(v) / 255;
      }
    }
  }
}
