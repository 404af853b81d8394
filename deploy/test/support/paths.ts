import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Repository root (deploy/test/support → ../../..). */
export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const repoPath = (...parts: string[]): string => resolve(repoRoot, ...parts);
