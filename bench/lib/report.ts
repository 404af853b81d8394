import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname } from 'node:path';

/** A Markdown table (also readable in a terminal). */
export function markdownTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string => `| ${cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join(' | ')} |`;
  return [line(header), `| ${widths.map((w) => '-'.repeat(w)).join(' | ')} |`, ...rows.map(line)].join('\n');
}

export function fmt(value: number, digits = 1): string {
  return Number.isFinite(value) ? value.toFixed(digits) : '–';
}

/**
 * Replaces the text between `<!-- name:start -->` and `<!-- name:end -->` in a Markdown file,
 * or appends the marked section; everything else in the file stays as it was.
 */
export function replaceSection(document: string, name: string, content: string): string {
  const start = `<!-- ${name}:start -->`;
  const end = `<!-- ${name}:end -->`;
  const block = `${start}\n${content.trim()}\n${end}`;
  const from = document.indexOf(start);
  const to = document.indexOf(end, from + start.length);
  if (from >= 0 && to >= 0) return document.slice(0, from) + block + document.slice(to + end.length);
  if (from >= 0 || document.includes(end)) throw new Error(`section ${name} has only one of its markers`);
  const base = document.length === 0 || document.endsWith('\n') ? document : `${document}\n`;
  return `${base}${base.length ? '\n' : ''}${block}\n`;
}

const docHeader =
  '# Benchmarks\n\nHow maskq compares with the seed design (FastAPI + OpenCV DNN, inference inline). ' +
  'Sections between `<!-- name:start/end -->` markers are written by the bench scripts.\n';

export function writeDocSection(file: string, name: string, content: string): void {
  const current = existsSync(file) ? readFileSync(file, 'utf8') : docHeader;
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, replaceSection(current, name, content));
}

export function writeJson(file: string, value: unknown): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify(value, null, 2)}\n`);
}

/** Where a number was measured: results are only comparable on the same machine and load. */
export function machineInfo(): { cpus: number; cpuModel: string; node: string; loadavg1m: number; date: string } {
  const list = cpus();
  const details = [cpuSignature(readCpuinfo()), vectorIsa()].filter(Boolean);
  return {
    cpus: list.length,
    cpuModel: `${list[0]?.model ?? 'unknown'}${details.length ? ` (${details.join(', ')})` : ''}`,
    node: process.version,
    loadavg1m: loadavg()[0] ?? 0,
    date: new Date().toISOString(),
  };
}

function readCpuinfo(): string {
  try {
    return readFileSync('/proc/cpuinfo', 'utf8');
  } catch {
    return '';
  }
}

/**
 * `family 26 model 2` from /proc/cpuinfo text: virtual machines often name every AMD host
 * "AMD EPYC", and two such hosts here differed by ~45 % in inference speed (family 26 is Zen 5).
 */
export function cpuSignature(cpuinfo: string): string | undefined {
  const field = (name: string) => new RegExp(`^${name}\\s*:\\s*(\\d+)\\s*$`, 'm').exec(cpuinfo)?.[1];
  const family = field('cpu family');
  const model = field('model');
  return family === undefined ? undefined : `family ${family}${model === undefined ? '' : ` model ${model}`}`;
}

/**
 * The widest vector extensions of this CPU, from /proc/cpuinfo: ONNX Runtime's kernels (and the
 * int8 model's speed) differ a lot between AVX2 and AVX-512 VNNI hosts, and machines get swapped.
 */
export function vectorIsa(): string | undefined {
  const line = readCpuinfo().split('\n').find((l) => l.startsWith('flags'));
  if (!line) return undefined;
  const flags = new Set(line.slice(line.indexOf(':') + 1).trim().split(/\s+/));
  if (flags.has('avx512_vnni')) return 'AVX-512 VNNI';
  if (flags.has('avx512f')) return 'AVX-512, no VNNI';
  if (flags.has('avx_vnni')) return 'AVX2 + AVX-VNNI';
  if (flags.has('avx2')) return 'AVX2, no AVX-512';
  return undefined;
}

/** `--name value` and `--flag` arguments. */
export function parseArgs(argv: readonly string[]): Map<string, string> {
  const args = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (!arg.startsWith('--')) throw new Error(`unexpected argument: ${arg}`);
    const eq = arg.indexOf('=');
    if (eq > 0) args.set(arg.slice(2, eq), arg.slice(eq + 1));
    else if (i + 1 < argv.length && !(argv[i + 1] as string).startsWith('--')) args.set(arg.slice(2), argv[++i] as string);
    else args.set(arg.slice(2), 'true');
  }
  return args;
}

export function numberList(value: string | undefined, fallback: number[]): number[] {
  if (value === undefined) return fallback;
  const list = value.split(',').map(Number);
  if (list.some((n) => !(n > 0))) throw new Error(`expected positive numbers, comma-separated: ${value}`);
  return list;
}
