import type { ImageFormat } from '../schemas/job.js';

/** Image kinds we recognise but refuse: unsafe (SVG, PDF: parsers of documents) or not decodable here. */
export const refusedImageKinds = ['svg', 'pdf', 'bmp', 'ico', 'psd', 'jxl', 'jp2', 'heic'] as const;
export type RefusedImageKind = (typeof refusedImageKinds)[number];

function startsWith(bytes: Uint8Array, offset: number, signature: readonly number[]): boolean {
  if (bytes.length < offset + signature.length) return false;
  for (let i = 0; i < signature.length; i++) if (bytes[offset + i] !== signature[i]) return false;
  return true;
}

function ascii(bytes: Uint8Array, offset: number, length: number): string {
  let s = '';
  for (let i = offset; i < offset + length && i < bytes.length; i++) s += String.fromCharCode(bytes[i]!);
  return s;
}

/** The brands of an ISO-BMFF `ftyp` box (major brand + compatible brands), or undefined. */
function ftypBrands(bytes: Uint8Array): string[] | undefined {
  if (bytes.length < 16 || ascii(bytes, 4, 4) !== 'ftyp') return undefined;
  const boxSize = ((bytes[0]! << 24) | (bytes[1]! << 16) | (bytes[2]! << 8) | bytes[3]!) >>> 0;
  const end = Math.min(bytes.length, boxSize >= 16 ? boxSize : 16, 4096);
  const brands = [ascii(bytes, 8, 4)];
  for (let o = 16; o + 4 <= end; o += 4) brands.push(ascii(bytes, o, 4));
  return brands;
}

const avifBrands = new Set(['avif', 'avis']);
const heicBrands = new Set(['heic', 'heix', 'heim', 'heis', 'hevc', 'hevx']);

/**
 * Identifies an image by its magic bytes. Pure and dependency-free: the API
 * calls it on uploads before anything parses them, the worker before sharp.
 * Returns a format we accept, or undefined (see `sniffRefusedImageKind` for
 * recognised formats we refuse).
 */
export function sniffImageFormat(bytes: Uint8Array): ImageFormat | undefined {
  if (startsWith(bytes, 0, [0xff, 0xd8, 0xff])) return 'jpeg';
  if (startsWith(bytes, 0, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return 'png';
  if (ascii(bytes, 0, 4) === 'RIFF' && ascii(bytes, 8, 4) === 'WEBP') return 'webp';
  const gif = ascii(bytes, 0, 6);
  if (gif === 'GIF87a' || gif === 'GIF89a') return 'gif';
  // Classic and BigTIFF, little and big endian.
  if (
    startsWith(bytes, 0, [0x49, 0x49, 0x2a, 0x00]) ||
    startsWith(bytes, 0, [0x4d, 0x4d, 0x00, 0x2a]) ||
    startsWith(bytes, 0, [0x49, 0x49, 0x2b, 0x00]) ||
    startsWith(bytes, 0, [0x4d, 0x4d, 0x00, 0x2b])
  ) {
    return 'tiff';
  }
  const brands = ftypBrands(bytes);
  if (brands?.some((b) => avifBrands.has(b))) return 'avif';
  return undefined;
}

/** Recognises formats we deliberately refuse (answer `unsupported_format`, not `invalid_image`). */
export function sniffRefusedImageKind(bytes: Uint8Array): RefusedImageKind | undefined {
  if (sniffImageFormat(bytes) !== undefined) return undefined;
  if (ascii(bytes, 0, 5) === '%PDF-') return 'pdf';
  if (ascii(bytes, 0, 2) === 'BM' && bytes.length >= 26) return 'bmp';
  if (startsWith(bytes, 0, [0x00, 0x00, 0x01, 0x00]) && bytes.length >= 22) return 'ico';
  if (ascii(bytes, 0, 4) === '8BPS') return 'psd';
  if (startsWith(bytes, 0, [0xff, 0x0a]) || startsWith(bytes, 0, [0, 0, 0, 0x0c, 0x4a, 0x58, 0x4c, 0x20])) return 'jxl';
  if (startsWith(bytes, 0, [0, 0, 0, 0x0c, 0x6a, 0x50, 0x20, 0x20]) || startsWith(bytes, 0, [0xff, 0x4f, 0xff, 0x51])) {
    return 'jp2';
  }
  const brands = ftypBrands(bytes);
  if (brands && (brands.some((b) => heicBrands.has(b)) || brands.includes('mif1') || brands.includes('msf1'))) {
    return 'heic';
  }
  if (looksLikeSvg(bytes)) return 'svg';
  return undefined;
}

/** SVG is XML text: skip a BOM and whitespace, then an XML declaration, comments or doctype may precede `<svg`. */
function looksLikeSvg(bytes: Uint8Array): boolean {
  let text = ascii(bytes, 0, 4096);
  if (text.startsWith('\xef\xbb\xbf')) text = text.slice(3);
  text = text.trimStart().toLowerCase();
  if (!text.startsWith('<')) return false;
  return text.includes('<svg');
}
