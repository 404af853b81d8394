import { defineConfig } from 'vite';

// Served by the API from packages/web/dist at `/` (same origin: no CORS, the API's CSP applies).
export default defineConfig({
  root: import.meta.dirname,
  // Build @maskq/client from its TypeScript source, as the rest of the workspace does.
  resolve: { conditions: ['source', 'module', 'browser', 'development|production'] },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    // No inline polyfill script: the page runs under `script-src 'self'`.
    modulePreload: { polyfill: false },
    sourcemap: true,
  },
  server: { proxy: { '/v1': 'http://127.0.0.1:8000', '/docs': 'http://127.0.0.1:8000', '/openapi.json': 'http://127.0.0.1:8000' } },
});
