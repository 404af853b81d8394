import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { configDescriptions, configSchema } from '@maskq/shared';
import { renderConfigDocs } from '../../../scripts/config-docs-render.js';
import { repoRoot } from '../../../test-support/paths.js';

describe('configuration reference', () => {
  it('describes every variable the schema reads', () => {
    const missing = Object.keys(configSchema.shape).filter((key) => !(configDescriptions as Record<string, string>)[key]);
    expect(missing).toEqual([]);
  });

  it('docs/configuration.md is what `pnpm docs:config` writes', () => {
    const committed = readFileSync(join(repoRoot, 'docs', 'configuration.md'), 'utf8');
    expect(committed).toBe(renderConfigDocs());
  });
});
