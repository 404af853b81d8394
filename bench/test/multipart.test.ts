import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fixtureImageNames, fixtureImagesDir, loadFixtureBatchBodies, loadFixtureBodies } from '../lib/fixtures.js';
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

  it('builds batch bodies of N fixtures in field "images", each fixture equally often', async () => {
    const names = fixtureImageNames();
    const bodies = loadFixtureBatchBodies(4);
    expect(bodies).toHaveLength(names.length);
    const seen = new Map<string, number>();
    for (const [i, built] of bodies.entries()) {
      const files = (await parse(built.body, built.contentType)).getAll('images') as File[];
      // Body i carries fixtures i, i+1, i+2, i+3 (wrapping round).
      expect(files.map((f) => f.name)).toEqual([0, 1, 2, 3].map((k) => names[(i + k) % names.length]));
      for (const f of files) seen.set(f.name, (seen.get(f.name) ?? 0) + 1);
    }
    expect([...seen.values()].every((count) => count === 4)).toBe(true);
    const last = (await parse(bodies.at(-1)!.body, bodies.at(-1)!.contentType)).getAll('images') as File[];
    expect(Buffer.from(await last[1]!.arrayBuffer())).toEqual(readFileSync(join(fixtureImagesDir, names[0]!)));
    expect(() => loadFixtureBatchBodies(0)).toThrow(RangeError);
  });
});
