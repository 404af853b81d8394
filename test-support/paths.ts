import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** `../shared` beside the checkout (CI layout), or SHARED_DIR. */
export const sharedDir = process.env.SHARED_DIR ?? resolve(repoRoot, '..', 'shared');
export const fixturesDir = join(sharedDir, 'fixtures');
export const fixtureImagesDir = join(fixturesDir, 'images');
export const caffeModelDir = join(sharedDir, 'models', 'aizoo-face-mask');
export const modelDir = join(repoRoot, 'models', 'face-mask', '1.0.0');

if (!existsSync(sharedDir)) {
  throw new Error(`shared data not found at ${sharedDir}: clone beside ../shared or set SHARED_DIR`);
}

export const int8ModelDir = join(repoRoot, 'models', 'face-mask', '1.0.0-int8');
export const validationDir = join(fixturesDir, 'validation');
export const validationJson = join(fixturesDir, 'validation.json');
