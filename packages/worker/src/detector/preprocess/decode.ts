import sharp, { type Metadata } from 'sharp';
import { MaskqError, sniffImageFormat, sniffRefusedImageKind, type ImageFormat } from '@maskq/shared';
import type { RawImage } from './resize.js';

export interface DecodeOptions {
  /** Refuse images with more pixels than this (width × height), read from the header before decoding. */
  maxPixels: number;
}

export interface DecodedImage extends RawImage {
  format: ImageFormat;
}

/** What sharp (libvips) in this build reads, by our format names. */
function sharpCanRead(format: ImageFormat): boolean {
  const id = format === 'avif' ? 'heif' : format;
  return (sharp.format as unknown as Record<string, { input: { buffer: boolean } } | undefined>)[id]?.input.buffer === true;
}

/** sharp's metadata().format → our format names (sharp calls AVIF "heif"). */
function sameFamily(sniffed: ImageFormat, reported: string | undefined): boolean {
  if (reported === undefined) return false;
  if (sniffed === 'avif' || sniffed === 'heif') return reported === 'heif' || reported === 'avif';
  return reported === sniffed;
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Checks bytes before any decoder sees them: magic bytes first, so sharp never parses SVG, PDF or anything unknown. */
export function checkImageBytes(bytes: Uint8Array): ImageFormat {
  if (bytes.length === 0) throw new MaskqError('invalid_image', 'image is empty (0 bytes)');
  const format = sniffImageFormat(bytes);
  if (format === undefined) {
    const refused = sniffRefusedImageKind(bytes);
    if (refused !== undefined) {
      throw new MaskqError('unsupported_format', `${refused} images are not supported; send JPEG, PNG, WebP, GIF, TIFF or AVIF`);
    }
    throw new MaskqError('invalid_image', 'not a recognised image (unknown file signature)');
  }
  if (!sharpCanRead(format)) throw new MaskqError('unsupported_format', `${format} images cannot be decoded by this worker`);
  return format;
}

/**
 * Decodes an image to 8-bit sRGB pixels, EXIF orientation applied, in one
 * sharp call: sharp compares the header's size with `maxPixels` when it opens
 * the image, before any pixel is decoded, so a decompression bomb costs a
 * header parse. Only a failed decode reads the header again (sharp.metadata)
 * to say precisely what is wrong; a second call per image would cost every
 * image another libvips pipeline and its thread hand-offs (~0.3 ms).
 * Truncated or corrupt data fails (`failOn: 'error'`) instead of yielding a
 * half-grey picture; harmless decoder warnings some cameras trigger are tolerated.
 */
export async function decodeImage(bytes: Uint8Array, options: DecodeOptions): Promise<DecodedImage> {
  const format = checkImageBytes(bytes);
  const input = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  try {
    const { data, info } = await sharp(input, { failOn: 'error', limitInputPixels: options.maxPixels, animated: false })
      .autoOrient()
      .toColourspace('srgb')
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
    return { data, width: info.width, height: info.height, channels: info.channels, format };
  } catch (err) {
    throw await explainDecodeFailure(input, format, options, err);
  }
}

/** The image's header as sharp reads it (size, format, orientation), no pixels decoded. */
export function readImageHeader(input: Buffer): Promise<Metadata> {
  return sharp(input, { failOn: 'error', limitInputPixels: false, animated: false }).metadata();
}

/** The typed error for a failed decode, from a fresh look at the header (ours, not sharp's words, where we can). */
async function explainDecodeFailure(input: Buffer, format: ImageFormat, options: DecodeOptions, err: unknown): Promise<MaskqError> {
  const message = describe(err);
  let header: Metadata;
  try {
    header = await readImageHeader(input);
  } catch (headerErr) {
    return new MaskqError('invalid_image', `cannot read image header: ${describe(headerErr)}`, { cause: headerErr });
  }
  if (!sameFamily(format, header.format)) {
    return new MaskqError('invalid_image', `file signature says ${format} but the decoder read ${header.format ?? 'nothing'}`, { cause: err });
  }
  const width = header.autoOrient?.width ?? header.width;
  const height = header.autoOrient?.height ?? header.height;
  if (!(width > 0 && height > 0)) return new MaskqError('invalid_image', 'image has no pixels', { cause: err });
  if (width * height > options.maxPixels || /pixel limit/i.test(message)) {
    return new MaskqError('image_too_large', `image is ${width}×${height} (${width * height} pixels); the limit is ${options.maxPixels} pixels`, { cause: err });
  }
  if (/unsupported|no decoder|not in a known format/i.test(message)) {
    return new MaskqError('unsupported_format', `cannot decode this ${format} image: ${message}`, { cause: err });
  }
  return new MaskqError('invalid_image', `cannot decode image: ${message}`, { cause: err });
}
