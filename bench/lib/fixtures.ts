import { readdirSync, readFileSync } from 'node:fs';
import { extname, join, resolve } from 'node:path';
import { repoRoot } from './paths.js';
import { buildMultipartBody, type MultipartBody } from './multipart.js';

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

/** The fixture images (sorted by name) as prebuilt multipart bodies with the given field name. */
export function loadFixtureBodies(field: string, dir = fixtureImagesDir): MultipartBody[] {
  return fixtureImageNames(dir).map((name) =>
    buildMultipartBody({
      field,
      filename: name,
      contentType: imageTypes[extname(name).toLowerCase()] ?? 'application/octet-stream',
      data: readFileSync(join(dir, name)),
    }),
  );
}
