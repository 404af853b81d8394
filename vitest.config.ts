import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: { conditions: ['source'] },
  ssr: { resolve: { conditions: ['source'] } },
  test: {
    include: ['packages/*/test/**/*.test.ts', 'models/converter/test/**/*.test.ts', 'deploy/test/**/*.test.ts', 'bench/test/*.test.ts'],
    // Builds packages/web when stale: the API serves it and the browser tests load it.
    globalSetup: ['test-support/build-web.ts'],
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Tests that spawn API and worker processes are heavy on a 2-core machine.
    fileParallelism: true,
    maxWorkers: 2,
  },
});
