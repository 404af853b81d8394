import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from './paths.js';

const webDir = join(repoRoot, 'packages', 'web');
export const webDistIndex = join(webDir, 'dist', 'index.html');

function newestMtime(path: string): number {
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  return Math.max(stat.mtimeMs, ...readdirSync(path).map((name) => newestMtime(join(path, name))));
}

/**
 * Vitest globalSetup: builds packages/web (Vite) when dist is missing or older
 * than its sources, so targeted runs (`vitest run path`) serve the current page.
 * `pnpm test` builds it first anyway.
 */
export default function setup(): void {
  const sources = [join(webDir, 'src'), join(webDir, 'index.html'), join(webDir, 'vite.config.ts'), join(repoRoot, 'packages', 'client', 'src')];
  if (existsSync(webDistIndex) && statSync(webDistIndex).mtimeMs >= Math.max(...sources.map(newestMtime))) return;
  const built = spawnSync('pnpm', ['--filter', '@maskq/web', 'build'], { cwd: repoRoot, encoding: 'utf8' });
  if (built.status !== 0) throw new Error(`building packages/web failed:\n${built.stdout}\n${built.stderr}`);
}
