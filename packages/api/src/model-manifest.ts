import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { modelRefSchema, type Config, type ModelRef } from '@maskq/shared';

/** The model the repository ships, used when MODEL_DIR is not set. */
export const defaultModelDir = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'models', 'face-mask', '1.0.0');

/**
 * Name and version from `<MODEL_DIR>/model.json`, read once at start for
 * `/ready`; undefined when there is no readable manifest.
 */
export function readModelManifest(config: Pick<Config, 'MODEL_DIR'>): ModelRef | undefined {
  const file = join(config.MODEL_DIR ?? defaultModelDir, 'model.json');
  try {
    const parsed = modelRefSchema.safeParse(JSON.parse(readFileSync(file, 'utf8')));
    return parsed.success ? { name: parsed.data.name, version: parsed.data.version } : undefined;
  } catch {
    return undefined;
  }
}
