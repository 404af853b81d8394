import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fixtureImagesDir, loadFixtureBodies } from '../lib/fixtures.js';
import { buildMultipartBody } from '../lib/multipart.js';

/** Parses with the runtime's own multipart parser (undici's Response.formData). */
async function parse(body: Buffer, contentType: string): Promise<FormData> {
  return new Response(body, { headers: { 'content-type': contentType } }).formData();
}

describe('buildMultipartBody', () => {
  it('produces a body a standard parser reads back byte for byte', async () => {
    const data = Buffer.from([0, 1, 2, 13, 10, 45, 45, 255, 254]);
    const built = buildMultipartBody({ field: 'image', filename: 'x.jpg', contentType: 'image/jpeg', data });
    const form = await parse(built.body, built.contentType);
    const file = form.get('image');
    expect(file).toBeInstanceOf(File);
    expect((file as File).name).toBe('x.jpg');
    expect((file as File).type).toBe('image/jpeg');
    expect(Buffer.from(await (file as File).arrayBuffer())).toEqual(data);
  });

  it('rejects a boundary that occurs in the data or is malformed', () => {
    const data = Buffer.from('abc--BOUNDARYxyz');
    expect(() => buildMultipartBody({ field: 'f', filename: 'a', contentType: 'image/png', data }, 'BOUNDARY')).toThrow(/occurs/);
    expect(() => buildMultipartBody({ field: 'f', filename: 'a', contentType: 'image/png', data }, 'has space')).toThrow(/invalid/);
  });

  it('builds every fixture image once, under the requested field', async () => {
    const bodies = loadFixtureBodies('file');
    expect(bodies).toHaveLength(19);
    const png = bodies.find((b) => b.name === 'mask_08.png');
    expect(png).toBeDefined();
    const form = await parse(png!.body, png!.contentType);
    const file = form.get('file') as File;
    expect(file.type).toBe('image/png');
    expect(Buffer.from(await file.arrayBuffer())).toEqual(readFileSync(join(fixtureImagesDir, 'mask_08.png')));
  });
});
