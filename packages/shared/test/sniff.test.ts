import { describe, expect, it } from 'vitest';
import { sniffImageFormat, sniffRefusedImageKind } from '@maskq/shared';

const bytes = (...parts: Array<string | number[]>) =>
  Uint8Array.from(parts.flatMap((p) => (typeof p === 'string' ? [...p].map((c) => c.charCodeAt(0)) : p)));

describe('sniffImageFormat', () => {
  it.each([
    ['jpeg', bytes([0xff, 0xd8, 0xff, 0xe0], 'JFIF')],
    ['png', bytes([0x89], 'PNG', [0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13], 'IHDR')],
    ['webp', bytes('RIFF', [1, 2, 3, 4], 'WEBPVP8 ')],
    ['gif', bytes('GIF89a', [1, 0, 1, 0])],
    ['gif', bytes('GIF87a', [1, 0, 1, 0])],
    ['tiff', bytes('II', [0x2a, 0, 8, 0, 0, 0])],
    ['tiff', bytes('MM', [0, 0x2a, 0, 0, 0, 8])],
    ['avif', bytes([0, 0, 0, 0x1c], 'ftypavif', [0, 0, 0, 0], 'avifmif1miaf')],
    ['avif', bytes([0, 0, 0, 0x1c], 'ftypmif1', [0, 0, 0, 0], 'mif1avifmiaf')],
  ])('recognises %s', (format, data) => {
    expect(sniffImageFormat(data)).toBe(format);
    expect(sniffRefusedImageKind(data)).toBeUndefined();
  });

  it('answers undefined for empty, short, text and unknown data', () => {
    expect(sniffImageFormat(new Uint8Array(0))).toBeUndefined();
    expect(sniffImageFormat(bytes([0xff, 0xd8]))).toBeUndefined();
    expect(sniffImageFormat(bytes('hello world'))).toBeUndefined();
    expect(sniffImageFormat(bytes('RIFF', [0, 0, 0, 0], 'WAVEfmt '))).toBeUndefined();
  });
});

describe('sniffRefusedImageKind', () => {
  it.each([
    ['svg', bytes('<svg xmlns="http://www.w3.org/2000/svg"/>')],
    ['svg', bytes([0xef, 0xbb, 0xbf], '  <?xml version="1.0"?><!-- x --><svg/>')],
    ['pdf', bytes('%PDF-1.7\n')],
    ['bmp', bytes('BM', new Array(30).fill(0))],
    ['heic', bytes([0, 0, 0, 0x18], 'ftypheic', [0, 0, 0, 0], 'mif1heic')],
  ])('recognises %s', (kind, data) => {
    expect(sniffImageFormat(data)).toBeUndefined();
    expect(sniffRefusedImageKind(data)).toBe(kind);
  });

  it('does not call arbitrary text an image', () => {
    expect(sniffRefusedImageKind(bytes('<html><body>hi</body></html>'))).toBeUndefined();
    expect(sniffRefusedImageKind(bytes('just text'))).toBeUndefined();
  });
});
