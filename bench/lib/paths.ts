import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const benchDir = resolve(repoRoot, 'bench');
export const resultsDir = resolve(benchDir, 'results');
export const docsDir = resolve(repoRoot, 'docs');
export const benchmarksDoc = resolve(docsDir, 'benchmarks.md');
