/**
 * pnpm bench:ceiling — how fast the load generator itself goes, against a server that does no
 * work (bench/lib/trivial-server.ts, its own process), with the same 19 fixture bodies.
 * If this is far above what a system under test reaches, the client is not the bottleneck.
 *
 *   pnpm bench:ceiling [--clients 4,16,64] [--rates 1000,2000] [--duration 5]
 */
import { join } from 'node:path';
import { runClosedLoop } from './lib/closed-loop.js';
import { loadFixtureBodies } from './lib/fixtures.js';
import { HttpTarget } from './lib/http-target.js';
import type { LoadResult } from './lib/load-result.js';
import type { MultipartBody } from './lib/multipart.js';
import { runOpenLoop } from './lib/open-loop.js';
import { benchDir, benchmarksDoc, repoRoot, resultsDir } from './lib/paths.js';
import { freePort, ManagedProcess, waitUntilReady } from './lib/processes.js';
import { fmt, machineInfo, markdownTable, numberList, parseArgs, writeDocSection, writeJson } from './lib/report.js';

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const clients = numberList(args.get('clients'), [4, 16, 64]);
  const rates = numberList(args.get('rates'), [50, 500, 1000, 2000]);
  const durationMs = Number(args.get('duration') ?? 5) * 1000;
  const warmupMs = 1000;
  const port = await freePort();
  const url = `http://127.0.0.1:${port}/detect`;
  const bodies = loadFixtureBodies('file');
  const server = new ManagedProcess({
    name: 'trivial server',
    command: process.execPath,
    args: ['--import', 'tsx', join(benchDir, 'lib', 'trivial-server.ts')],
    cwd: repoRoot,
    env: { ...process.env, PORT: String(port) },
  });
  const machine = machineInfo();
  const results: LoadResult[] = [];
  try {
    await waitUntilReady('trivial server', async () => {
      const probe = new HttpTarget(url, { maxSockets: 1 });
      try {
        return (await probe.post(bodies[0] as MultipartBody)).status === 200;
      } finally {
        probe.close();
      }
    }, [server]);
    for (const c of clients) {
      const r = await runClosedLoop({ url, bodies, concurrency: c, durationMs, warmupMs });
      console.log(`  closed c=${c}: ${r.rps.toFixed(0)} req/s, p99 ${r.latency.p99.toFixed(2)} ms, client CPU ${r.clientCpuMsPerRequest.toFixed(3)} ms/req`);
      results.push(r);
    }
    for (const rate of rates) {
      const r = await runOpenLoop({ url, bodies, rate, durationMs, warmupMs });
      console.log(`  open ${rate}/s: ${r.rps.toFixed(0)} req/s, p99 ${r.latency.p99.toFixed(2)} ms (from scheduled time), send lag p99 ${(r.sendLagP99Ms ?? NaN).toFixed(2)} ms, client CPU ${r.clientCpuMsPerRequest.toFixed(3)} ms/req`);
      results.push(r);
    }
  } finally {
    await server.stop();
  }
  const table = markdownTable(
    ['load', 'req/s', 'p50 ms', 'p99 ms', 'send lag p99 ms', 'errors', 'client CPU ms/req'],
    results.map((r) => [
      r.mode === 'closed' ? `closed, ${r.concurrency} clients` : `open, ${r.offeredRate}/s offered`,
      fmt(r.rps, 0),
      fmt(r.latency.p50, 2),
      fmt(r.latency.p99, 2),
      r.sendLagP99Ms === undefined ? '–' : fmt(r.sendLagP99Ms, 2),
      String(r.errors),
      fmt(r.clientCpuMsPerRequest, 3),
    ]),
  );
  console.log(`\n${table}\n`);
  writeJson(join(resultsDir, 'ceiling.json'), { machine, results });
  writeDocSection(
    benchmarksDoc,
    'ceiling',
    [
      '## The load generator\'s own ceiling (`pnpm bench:ceiling`)',
      '',
      'The generator (`bench/lib`) against a server that does no work (own process), same 19 fixture',
      'bodies (12–194 kB each), prebuilt once. Client and server share the machine, so this is a lower',
      'bound of the generator\'s ceiling; the client CPU per request says what it takes from the system',
      'under test at a given rate (e.g. at 60 req/s: 60 × that many ms per second of one core).',
      `Measured ${machine.date.slice(0, 16).replace('T', ' ')} UTC on ${machine.cpus} × ${machine.cpuModel}, load average ${machine.loadavg1m.toFixed(2)}.`,
      '',
      table,
    ].join('\n'),
  );
  console.log('wrote bench/results/ceiling.json and the ceiling section of docs/benchmarks.md');
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exitCode = 1;
});
