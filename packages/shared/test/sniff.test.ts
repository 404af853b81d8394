import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { sniffImageFormat, sniffRefusedImageKind } from '@maskq/shared';
import { fixtureImagesDir } from '../../../test-support/paths.js';

const bytes = (...parts: Array<string | number[]>) =>
  Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'latin1') : Buffer.from(p))));

describe('sniffImageFormat', () => {
  it('recognises every fixture photo by its bytes', () => {
    for (const name of readdirSync(fixtureImagesDir)) {
      const expected = name.endsWith('.png') ? 'png' : 'jpeg';
      expect(sniffImageFormat(readFileSync(join(fixtureImagesDir, name))), name).toBe(expected);
    }
  });

  it('recognises webp, gif, tiff and avif headers', () => {
    expect(sniffImageFormat(bytes('RIFF', [0x24, 0, 0, 0], 'WEBPVP8 '))).toBe('webp');
    expect(sniffImageFormat(bytes('GIF89a', [1, 0, 1, 0]))).toBe('gif');
    expect(sniffImageFormat(bytes('GIF87a', [1, 0, 1, 0]))).toBe('gif');
    expect(sniffImageFormat(bytes([0x49, 0x49, 0x2a, 0x00, 8, 0, 0, 0]))).toBe('tiff');
    expect(sniffImageFormat(bytes([0x4d, 0x4d, 0x00, 0x2a, 0, 0, 0, 8]))).toBe('tiff');
    expect(sniffImageFormat(bytes([0, 0, 0, 0x1c], 'ftypavif', [0, 0, 0, 0], 'avifmif1miaf'))).toBe('avif');
  });

  it('answers undefined for text, empty, truncated and refused formats', () => {
    expect(sniffImageFormat(Buffer.alloc(0))).toBeUndefined();
    expect(sniffImageFormat(Buffer.from('hello world'))).toBeUndefined();
    expect(sniffImageFormat(bytes([0xff, 0xd8]))).toBeUndefined();
    expect(sniffImageFormat(bytes('RIFF', [0, 0, 0, 0], 'WAVE'))).toBeUndefined();
    const pdf = Buffer.from('%PDF-1.7\n');
    expect(sniffImageFormat(pdf)).toBeUndefined();
    expect(sniffRefusedImageKind(pdf)).toBe('pdf');
    const svg = Buffer.from('<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"/>');
    expect(sniffRefusedImageKind(svg)).toBe('svg');
    const heic = bytes([0, 0, 0, 0x18], 'ftypheic', [0, 0, 0, 0], 'mif1heic');
    expect(sniffImageFormat(heic)).toBeUndefined();
    expect(sniffRefusedImageKind(heic)).toBe('heic');
  });
});
