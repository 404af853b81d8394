import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import express, { type RequestHandler } from 'express';

/**
 * packages/web/dist beside this package: the same from src/ and dist/, in the
 * repository and in the API image (which copies the build there).
 */
export function defaultWebDist(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  return resolve(here, '..', '..', '..', 'web', 'dist');
}

/**
 * The web page (packages/web, built by Vite) as static files at `/`. Hashed
 * files under /assets are cached for a year; index.html is revalidated each
 * time so a new build shows at once. Nothing is served when the build is absent.
 */
export function webSite(distDir: string | null = defaultWebDist()): RequestHandler | undefined {
  if (!distDir || !existsSync(join(distDir, 'index.html'))) return undefined;
  return express.static(distDir, {
    index: 'index.html',
    fallthrough: true,
    redirect: false,
    setHeaders(res, path) {
      const immutable = path.startsWith(join(distDir, 'assets'));
      res.setHeader('Cache-Control', immutable ? 'public, max-age=31536000, immutable' : 'no-cache');
    },
  });
}
