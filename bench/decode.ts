/**
 * pnpm bench:decode — what decoding one image costs: maskq's decodeImage (sharp/libvips) against the
 * seed design's cv2.imdecode (OpenCV, one thread), per fixture, in CPU time (every thread of the
 * process), with the thread hand-offs (context switches, all threads) behind each sharp decode.
 * On a VM, waking another thread is expensive; sharp's per-call cost is mostly that.
 *
 *   pnpm bench:decode [--rounds 7]
 *
 * Writes bench/results/decode.json and the `decode` section of docs/benchmarks.md. The OpenCV column
 * needs python3-opencv (as the seed does); without it the column says so.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { decodeImage, readImageHeader } from '../packages/worker/src/detector/preprocess/decode.js';
import { defaultMaxPixels } from '../packages/worker/src/detector/preprocess/index.js';
import { fixtureImageNames, fixtureImagesDir } from './lib/fixtures.js';
import { benchDir, benchmarksDoc, resultsDir } from './lib/paths.js';
import { fmt, machineInfo, markdownTable, parseArgs, writeDocSection, writeJson } from './lib/report.js';
import { median } from './lib/stats.js';
import { seedPython } from './lib/targets.js';

/** Voluntary + involuntary context switches of every thread of this process so far. */
function contextSwitches(): number {
  let total = 0;
  for (const task of readdirSync('/proc/self/task')) {
    try {
      const status = readFileSync(`/proc/self/task/${task}/status`, 'utf8');
      for (const m of status.matchAll(/^(?:non)?voluntary_ctxt_switches:\s+(\d+)/gm)) total += Number(m[1]);
    } catch {
      // the thread ended between the listing and the read
    }
  }
  return total;
}

interface Cost {
  cpuMs: number;
  switches: number;
}

/** Median CPU ms and context switches per call of `fn`, over `rounds` rounds of 10 calls. */
async function costOf(rounds: number, fn: () => Promise<unknown>): Promise<Cost> {
  await fn();
  const cpu: number[] = [];
  const switches: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const s0 = contextSwitches();
    const c0 = process.cpuUsage();
    for (let i = 0; i < 10; i++) await fn();
    const c = process.cpuUsage(c0);
    switches.push((contextSwitches() - s0) / 10);
    cpu.push((c.user + c.system) / 1000 / 10);
  }
  return { cpuMs: median(cpu), switches: median(switches) };
}

function openCvCosts(rounds: number, files: string[]): Record<string, number> | string {
  const run = spawnSync(seedPython(), [join(benchDir, 'seed', 'decode_cost.py'), String(rounds), ...files], { encoding: 'utf8' });
  if (run.status !== 0) return `not measured (${(run.stderr || run.error?.message || '').trim().split('\n').pop()})`;
  return JSON.parse(run.stdout) as Record<string, number>;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const rounds = Number(args.get('rounds') ?? 7);
  const machine = machineInfo();
  const names = fixtureImageNames();
  const rows: Array<{ name: string; size: string; sharp: Cost; header: Cost; opencv?: number }> = [];
  for (const name of names) {
    const bytes = readFileSync(join(fixtureImagesDir, name));
    const meta = await readImageHeader(bytes);
    const decoded = await costOf(rounds, () => decodeImage(bytes, { maxPixels: defaultMaxPixels }));
    const header = await costOf(rounds, () => readImageHeader(bytes));
    rows.push({ name, size: `${meta.width}×${meta.height}`, sharp: decoded, header });
    console.log(`${name.padEnd(28)} sharp ${decoded.cpuMs.toFixed(2)} ms, ${decoded.switches.toFixed(1)} switches; header ${header.cpuMs.toFixed(2)} ms`);
  }
  const opencv = openCvCosts(rounds, names.map((n) => join(fixtureImagesDir, n)));
  if (typeof opencv === 'string') console.log(`OpenCV: ${opencv}`);
  else for (const row of rows) row.opencv = opencv[row.name];

  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const cv = (row: (typeof rows)[number]) => (row.opencv === undefined ? '–' : fmt(row.opencv, 2));
  const table = markdownTable(
    ['image', 'size', 'maskq decodeImage (sharp) CPU ms', 'context switches per decode', 'sharp header only (metadata) CPU ms', 'seed cv2.imdecode CPU ms'],
    [
      ...rows.map((r) => [r.name, r.size, fmt(r.sharp.cpuMs, 2), fmt(r.sharp.switches, 1), fmt(r.header.cpuMs, 2), cv(r)]),
      [
        '**mean**',
        '',
        `**${fmt(mean(rows.map((r) => r.sharp.cpuMs)), 2)}**`,
        fmt(mean(rows.map((r) => r.sharp.switches)), 1),
        fmt(mean(rows.map((r) => r.header.cpuMs)), 2),
        typeof opencv === 'string' ? '–' : `**${fmt(mean(rows.map((r) => r.opencv ?? 0)), 2)}**`,
      ],
    ],
  );
  console.log(`\n${table}\n`);
  writeJson(join(resultsDir, 'decode.json'), { machine, rounds, rows, opencv: typeof opencv === 'string' ? opencv : 'measured' });
  writeDocSection(
    benchmarksDoc,
    'decode',
    [
      '## What decoding one image costs (`pnpm bench:decode`)',
      '',
      `Measured ${machine.date.slice(0, 16).replace('T', ' ')} UTC on ${machine.cpus} × ${machine.cpuModel}, load average ${machine.loadavg1m.toFixed(2)}.`,
      `CPU per decode of every thread of the process (sharp runs libvips on its own threads), median of ${rounds} rounds of 10;`,
      "context switches of all the process's threads per decode (/proc); OpenCV with one thread, as the seed server",
      'decodes in its request handler.' + (typeof opencv === 'string' ? ` OpenCV: ${opencv}.` : ''),
      '',
      table,
    ].join('\n'),
  );
  console.log('wrote bench/results/decode.json and docs/benchmarks.md (decode section)');
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exitCode = 1;
});
