/**
 * pnpm bench — every benchmark in turn, each rewriting its section of docs/benchmarks.md:
 * inference (the library), decode (sharp against OpenCV per image), ceiling (the load generator), compare (seed vs maskq), pipeline
 * (queue vs library), cpu (CPU per job by process), ingest (API alone), efficiency (Redis per job). About 25 minutes on 2 cores;
 * run it on a quiet machine. `pnpm bench --only compare,pipeline` runs a subset.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { parseArgs } from './lib/report.js';
import { repoRoot } from './lib/paths.js';

const suites = ['inference', 'decode', 'ceiling', 'compare', 'pipeline', 'cpu', 'ingest', 'efficiency'] as const;

const args = parseArgs(process.argv.slice(2));
const only = args.get('only')?.split(',').map((s) => s.trim());
const unknown = only?.filter((name) => !(suites as readonly string[]).includes(name)) ?? [];
if (unknown.length) {
  console.error(`--only takes ${suites.join(', ')}; not ${unknown.join(', ')}`);
  process.exit(2);
}
const failed: string[] = [];
for (const name of suites.filter((s) => !only || only.includes(s))) {
  console.log(`\n=== bench:${name} ===`);
  const t0 = performance.now();
  const run = spawnSync(process.execPath, ['--conditions=source', '--import', 'tsx', join(repoRoot, 'bench', `${name}.ts`)], { cwd: repoRoot, stdio: 'inherit' });
  console.log(`=== bench:${name}: ${run.status === 0 ? 'done' : `failed (${run.status ?? run.signal})`} in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  if (run.status !== 0) failed.push(name);
}
if (failed.length) {
  console.error(`failed: ${failed.join(', ')}`);
  process.exitCode = 1;
}
