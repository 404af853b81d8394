import { readdirSync, readFileSync } from 'node:fs';
import { extname, join, resolve } from 'node:path';
import { repoRoot } from './paths.js';
import { buildMultipartBody, buildMultipartFiles, type MultipartBody, type MultipartFile } from './multipart.js';

/** `../shared/fixtures/images` beside the checkout, or SHARED_DIR. */
export const sharedDir = process.env.SHARED_DIR ?? resolve(repoRoot, '..', 'shared');
export const fixtureImagesDir = join(sharedDir, 'fixtures', 'images');
export const caffeModelDir = join(sharedDir, 'models', 'aizoo-face-mask');

const imageTypes: Record<string, string> = {
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.png': 'image/png',
  '.webp': 'image/webp',
};

/** File names of the fixture images (JPEG, PNG, WebP), sorted; throws when there are none. */
export function fixtureImageNames(dir = fixtureImagesDir): string[] {
  const names = readdirSync(dir)
    .filter((name) => extname(name).toLowerCase() in imageTypes)
    .sort();
  if (names.length === 0) throw new Error(`no fixture images in ${dir}`);
  return names;
}

function fixtureFiles(field: string, dir: string): MultipartFile[] {
  return fixtureImageNames(dir).map((name) => ({
    field,
    filename: name,
    contentType: imageTypes[extname(name).toLowerCase()] ?? 'application/octet-stream',
    data: readFileSync(join(dir, name)),
  }));
}

/** The fixture images (sorted by name) as prebuilt multipart bodies with the given field name. */
export function loadFixtureBodies(field: string, dir = fixtureImagesDir): MultipartBody[] {
  return fixtureFiles(field, dir).map((file) => buildMultipartBody(file));
}

/**
 * Bodies for POST /v1/jobs/batch: one per fixture, each carrying `size` fixtures in field `images`
 * from that one on (wrapping round), so sending them in turn sends every fixture equally often.
 */
export function loadFixtureBatchBodies(size: number, dir = fixtureImagesDir): MultipartBody[] {
  if (!(Number.isInteger(size) && size >= 1)) throw new RangeError(`images per batch must be a whole number >= 1, not ${size}`);
  const files = fixtureFiles('images', dir);
  return files.map((_, first) => buildMultipartFiles(Array.from({ length: size }, (_, k) => files[(first + k) % files.length]!)));
}
