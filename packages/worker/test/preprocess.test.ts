import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { MaskqError } from '@maskq/shared';
import { createBatchTensor, preprocessInto, resizeBilinearToPlanar } from '@maskq/worker/detector';
import { caffeModelDir, fixtureImagesDir } from '../../../test-support/paths.js';

const opts = { maxPixels: 50_000_000 };
const plane = 260 * 260;

async function fixture(name: string): Promise<Buffer> {
  return readFile(join(fixtureImagesDir, name));
}

async function errorOf(bytes: Uint8Array, options = opts): Promise<MaskqError> {
  const err = await preprocessInto(bytes, createBatchTensor(1), 0, options).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(MaskqError);
  return err as MaskqError;
}

async function tensorOf(bytes: Uint8Array): Promise<Float32Array> {
  const t = createBatchTensor(1);
  await preprocessInto(bytes, t, 0, opts);
  return t;
}

describe('bilinear resize (OpenCV INTER_LINEAR rule, no anti-aliasing)', () => {
  it('upscales a 2×1 RGB image to 4×1 by hand computation', () => {
    const image = { data: new Uint8Array([0, 100, 200, 200, 20, 0]), width: 2, height: 1, channels: 3 };
    const t = new Float32Array(3 * 4);
    resizeBilinearToPlanar(image, t, 0, 4, 1);
    // x: d0 → src -0.25 clamps to 0; d1 → 0.25; d2 → 0.75; d3 → 1.25 clamps to 1
    const r = [0, 50, 150, 200];
    const g = [100, 80, 40, 20];
    const b = [200, 150, 50, 0];
    expect(Array.from(t, (v) => Math.round(v * 255))).toEqual([...r, ...g, ...b]);
  });

  it('downscales 4×4 → 2×2 by averaging each 2×2 block (no wider filter)', () => {
    const grey = new Uint8Array([0, 10, 100, 110, 20, 30, 120, 130, 200, 210, 40, 50, 220, 230, 60, 70]);
    const t = new Float32Array(3 * 4);
    resizeBilinearToPlanar({ data: grey, width: 4, height: 4, channels: 1 }, t, 0, 2, 2);
    const expected = [15, 115, 215, 55];
    expect(Array.from(t.subarray(0, 4), (v) => Math.round(v * 255))).toEqual(expected);
    // grey feeds R, G and B alike
    expect(Array.from(t.subarray(4, 8))).toEqual(Array.from(t.subarray(0, 4)));
    expect(Array.from(t.subarray(8, 12))).toEqual(Array.from(t.subarray(0, 4)));
  });

  it('equals a plain per-pixel bilinear (Math.round, every channel count, up and down) value for value', () => {
    // The resize is hand-tuned for speed; this is the textbook version it must agree with.
    const reference = (data: Uint8Array, w: number, h: number, ch: number, dw: number, dh: number): number[] => {
      const tap = (src: number, dst: number, d: number): [number, number, number] => {
        const f = (d + 0.5) * (src / dst) - 0.5;
        let s = Math.floor(f);
        let frac = f - s;
        if (s < 0) [s, frac] = [0, 0];
        if (s >= src - 1) [s, frac] = [src - 1, 0];
        return [s, Math.min(s + 1, src - 1), Math.fround(frac)];
      };
      const out = new Array<number>(3 * dw * dh);
      for (let y = 0; y < dh; y++) {
        const [y0, y1, wy] = tap(h, dh, y);
        for (let x = 0; x < dw; x++) {
          const [x0, x1, wx] = tap(w, dw, x);
          for (let c = 0; c < 3; c++) {
            const k = ch >= 3 ? c : 0;
            const px = (yy: number, xx: number) => data[(yy * w + xx) * ch + k]!;
            const top = px(y0, x0) + (px(y0, x1) - px(y0, x0)) * wx;
            const bottom = px(y1, x0) + (px(y1, x1) - px(y1, x0)) * wx;
            out[c * dw * dh + y * dw + x] = Math.fround(Math.round(top + (bottom - top) * wy) / 255);
          }
        }
      }
      return out;
    };
    let seed = 7;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2147483648) % 256;
    for (const [w, h, ch, dw, dh] of [[37, 23, 3, 60, 50], [300, 170, 4, 26, 26], [50, 90, 1, 26, 40], [64, 48, 2, 17, 33]] as const) {
      const data = Uint8Array.from({ length: w * h * ch }, random);
      const t = new Float32Array(3 * dw * dh + 5);
      resizeBilinearToPlanar({ data, width: w, height: h, channels: ch }, t, 5, dw, dh);
      expect(Array.from(t.subarray(5))).toEqual(reference(data, w, h, ch, dw, dh));
    }
  });

  it('matches the tensor OpenCV prepared for aizoo_demo2.jpg within one 8-bit level', async () => {
    const ref = new Float32Array((await readFile(join(caffeModelDir, 'parity', 'photo.input.f32'))).buffer.slice(0));
    const t = await tensorOf(await fixture('aizoo_demo2.jpg'));
    let max = 0;
    let sum = 0;
    for (let i = 0; i < t.length; i++) {
      const d = Math.abs(t[i]! - ref[i]!) * 255;
      max = Math.max(max, d);
      sum += d;
    }
    expect(max).toBeLessThanOrEqual(1.0001);
    expect(sum / t.length).toBeLessThan(0.2);
  });
});

describe('preprocessInto', () => {
  it('writes into the requested batch slot and returns the original size', async () => {
    const t = createBatchTensor(3);
    const size = await preprocessInto(await fixture('mask_01.jpg'), t, 1, opts);
    expect(size).toEqual({ width: 273, height: 433 });
    const slot = (i: number) => t.subarray(i * 3 * plane, (i + 1) * 3 * plane);
    expect(slot(0).every((v) => v === 0)).toBe(true);
    expect(slot(2).every((v) => v === 0)).toBe(true);
    expect(slot(1).some((v) => v > 0)).toBe(true);
    expect(slot(1).every((v) => v >= 0 && v <= 1)).toBe(true);
    await expect(preprocessInto(await fixture('mask_01.jpg'), t, 3, opts)).rejects.toThrow(RangeError);
  });

  it('honours EXIF orientation (6 = rotate 90° clockwise)', async () => {
    // 40×20: left half red, right half blue.
    const raw = Buffer.alloc(40 * 20 * 3);
    for (let y = 0; y < 20; y++) for (let x = 0; x < 40; x++) raw[(y * 40 + x) * 3 + (x < 20 ? 0 : 2)] = 255;
    const jpeg = await sharp(raw, { raw: { width: 40, height: 20, channels: 3 } })
      .jpeg({ quality: 95 })
      .withMetadata({ orientation: 6 })
      .toBuffer();
    const t = createBatchTensor(1);
    expect(await preprocessInto(jpeg, t, 0, opts)).toEqual({ width: 20, height: 40 });
    // displayed upright, the red half is on top
    const red = (x: number, y: number) => t[y * 260 + x]!;
    const blue = (x: number, y: number) => t[2 * plane + y * 260 + x]!;
    expect(red(130, 10)).toBeGreaterThan(0.9);
    expect(blue(130, 10)).toBeLessThan(0.1);
    expect(red(130, 250)).toBeLessThan(0.1);
    expect(blue(130, 250)).toBeGreaterThan(0.9);
  });

  it('drops the alpha channel of a PNG (mask_08.png) and keeps its RGB', async () => {
    const png = await fixture('mask_08.png');
    expect((await sharp(png).metadata()).hasAlpha).toBe(true);
    const rgbOnly = await sharp(png).removeAlpha().png().toBuffer();
    expect(Array.from(await tensorOf(png))).toEqual(Array.from(await tensorOf(rgbOnly)));
  });

  it('turns greyscale into equal R, G and B planes', async () => {
    const grey = await sharp(await fixture('nomask_03.jpg')).toColourspace('b-w').png().toBuffer();
    expect((await sharp(grey).metadata()).channels).toBe(1);
    const t = await tensorOf(grey);
    expect(Array.from(t.subarray(0, plane))).toEqual(Array.from(t.subarray(plane, 2 * plane)));
    expect(Array.from(t.subarray(0, plane))).toEqual(Array.from(t.subarray(2 * plane)));
    expect(t.some((v) => v > 0)).toBe(true);
  });

  it('reads WebP, TIFF (same pixels as the source), GIF and AVIF with the same pixels as the source', async () => {
    const jpeg = await fixture('mask_02.jpg');
    const pixels = await sharp(jpeg).png().toBuffer();
    const expected = Array.from(await tensorOf(pixels));
    for (const encoded of [
      await sharp(jpeg).webp({ lossless: true }).toBuffer(),
      await sharp(jpeg).tiff({ compression: 'lzw' }).toBuffer(),
    ]) {
      expect(Array.from(await tensorOf(encoded))).toEqual(expected);
    }
    const gif = await sharp(jpeg).gif().toBuffer();
    expect(await preprocessInto(gif, createBatchTensor(1), 0, opts)).toEqual({ width: 169, height: 287 });
    const avif = await sharp(jpeg).avif({ quality: 60, effort: 0 }).toBuffer();
    expect(await preprocessInto(avif, createBatchTensor(1), 0, opts)).toEqual({ width: 169, height: 287 });
  });

  it('refuses empty, random and truncated data with invalid_image', async () => {
    expect((await errorOf(new Uint8Array(0))).code).toBe('invalid_image');
    const random = Buffer.alloc(4096);
    for (let i = 0; i < random.length; i++) random[i] = (i * 2654435761) >>> 24;
    expect((await errorOf(random)).code).toBe('invalid_image');
    const jpeg = await fixture('nomask_02.jpg');
    const truncated = await errorOf(jpeg.subarray(0, Math.floor(jpeg.length / 2)));
    expect(truncated.code).toBe('invalid_image');
    expect(truncated.message).toMatch(/premature end|truncated|decode/i);
    // a valid signature with nothing after it
    expect((await errorOf(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))).code).toBe('invalid_image');
  });

  it('refuses SVG and PDF with unsupported_format', async () => {
    const svg = Buffer.from('<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="100" height="100"><rect width="100" height="100"/></svg>');
    expect((await errorOf(svg)).code).toBe('unsupported_format');
    expect((await errorOf(Buffer.from('%PDF-1.7\n%âãÏÓ\n1 0 obj\n<<>>\nendobj\n'))).code).toBe('unsupported_format');
  });

  it('refuses a raster signature followed by SVG: the loader is picked by the signature, never the SVG one', async () => {
    const svg = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="100" height="100"><rect width="100" height="100"/></svg>');
    for (const signature of [Buffer.from('GIF89a'), Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.from('II*\0')]) {
      const err = await errorOf(Buffer.concat([signature, svg]));
      expect(err.code).toBe('invalid_image');
      expect(err.message).not.toMatch(/svg/i);
    }
  });

  it('refuses an image over the pixel limit from its header, before decoding', async () => {
    // A PNG whose IHDR claims 100000×100000 and whose pixel data is garbage: only the header is read.
    const png = Buffer.from(await sharp({ create: { width: 8, height: 8, channels: 3, background: '#808080' } }).png().toBuffer());
    png.writeUInt32BE(100_000, 16);
    png.writeUInt32BE(100_000, 20);
    const err = await errorOf(png);
    expect(err.code).toBe('image_too_large');
    expect(err.message).toMatch(/100000×100000/);
    // and a real image above a small limit
    // a real image one pixel over a small limit: sharp refuses it on opening, we name its size
    const overLimit = await errorOf(await fixture('mask_01.jpg'), { maxPixels: 273 * 433 - 1 });
    expect(overLimit.code).toBe('image_too_large');
    expect(overLimit.message).toBe(`image is 273×433 (${273 * 433} pixels); the limit is ${273 * 433 - 1} pixels`);
    await expect(preprocessInto(await fixture('mask_01.jpg'), createBatchTensor(1), 0, { maxPixels: 273 * 433 })).resolves.toEqual({
      width: 273,
      height: 433,
    });
  });
});
