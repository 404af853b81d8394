/**
 * `pnpm detect [--json] <image...>`: runs the detector locally (no Redis).
 * stdout carries only the answer (one JSON object with --json); logs go to stderr.
 * Exit 0: every image processed; 1: at least one failed; 2: usage error.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { loadConfigOrExit, MaskqError, type DetectionResult, type ErrorBody } from '@maskq/shared';
import { Detector, type DetectorLogger } from '../detector/index.js';

const usage = `usage: pnpm detect [--json] [--batch-size N] [--threads N] [--files-from FILE] <image...>

  Detects faces and masks in local images with the maskq detector (no Redis needed).
  --json           print one JSON object { "<path>": result | { "error": { code, message } } }
  --batch-size N   images per inference call (default 16)
  --threads N      inference threads, each with its own session, decoding while they infer
                   (default 0: in the main thread; one per core pays on long runs, docs/detector.md)
  --files-from F   also read paths from file F, one per line (- = stdin)
  --files0-from F  the same, separated by NUL bytes (find -print0)
  -h, --help       show this help

  Environment: MODEL_DIR, EXECUTION_PROVIDER (cpu|cuda), CUDA_FALLBACK, INTRA_OP_THREADS,
  MAX_IMAGE_PIXELS, MAX_IMAGE_BYTES.
`;

export interface CliArgs {
  json: boolean;
  batchSize: number;
  /** inference threads; 0 (default): in the main thread */
  threads: number;
  /** a file (or - for stdin) with more paths */
  filesFrom?: { file: string; separator: '\n' | '\0' };
  paths: string[];
}

export class UsageError extends Error {}

export function parseArgs(argv: readonly string[]): CliArgs | 'help' {
  const args: CliArgs = { json: false, batchSize: 16, threads: 0, paths: [] };
  let onlyPaths = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (onlyPaths || !arg.startsWith('-') || arg === '-') {
      args.paths.push(arg);
    } else if (arg === '--') {
      onlyPaths = true;
    } else if (arg === '--json') {
      args.json = true;
    } else if (arg === '-h' || arg === '--help') {
      return 'help';
    } else if (arg === '--batch-size' || arg.startsWith('--batch-size=')) {
      const value = arg.includes('=') ? arg.slice(arg.indexOf('=') + 1) : argv[++i];
      const n = Number(value);
      if (!Number.isInteger(n) || n < 1 || n > 256) throw new UsageError(`--batch-size needs an integer 1..256, got ${value ?? 'nothing'}`);
      args.batchSize = n;
    } else if (arg === '--threads' || arg.startsWith('--threads=')) {
      const value = arg.includes('=') ? arg.slice(arg.indexOf('=') + 1) : argv[++i];
      const n = Number(value);
      if (!Number.isInteger(n) || n < 0 || n > 64) throw new UsageError(`--threads needs an integer 0..64, got ${value ?? 'nothing'}`);
      args.threads = n;
    } else if (/^--files0?-from(=|$)/.test(arg)) {
      const file = arg.includes('=') ? arg.slice(arg.indexOf('=') + 1) : argv[++i];
      if (!file) throw new UsageError(`${arg} needs a file (or - for stdin)`);
      args.filesFrom = { file, separator: arg.startsWith('--files0') ? '\0' : '\n' };
    } else {
      throw new UsageError(`unknown option ${arg}`);
    }
  }
  if (args.paths.length === 0 && !args.filesFrom) throw new UsageError('no image paths given');
  return args;
}

type Outcome = DetectionResult | ErrorBody;

const stderrLogger: DetectorLogger = {
  info: () => {},
  warn: (obj, msg) => process.stderr.write(`maskq detect: warning: ${msg ?? ''} ${JSON.stringify(obj)}\n`),
};

async function readImage(path: string, maxBytes: number): Promise<Uint8Array | MaskqError> {
  try {
    const info = await stat(path);
    if (!info.isFile()) return new MaskqError('invalid_request', 'not a regular file');
    if (info.size > maxBytes) return new MaskqError('payload_too_large', `file is ${info.size} bytes; the limit is ${maxBytes}`);
    return await readFile(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return new MaskqError('not_found', 'no such file');
    return new MaskqError('invalid_request', `cannot read file (${code ?? 'error'})`);
  }
}

/** Runs `fn` over `items` with at most `limit` in flight, keeping order. */
async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  });
  await Promise.all(workers);
  return out;
}

function formatTable(outcomes: ReadonlyArray<[string, Outcome]>): string {
  const rows = outcomes.map(([path, o]) => {
    if ('error' in o) return [path, '-', '-', '-', `error ${o.error.code}: ${o.error.message}`];
    const dets = o.detections.map((d) => `${d.label} ${d.score.toFixed(2)} [${d.box.map((v) => Math.round(v)).join(',')}]`).join('; ');
    return [path, `${o.width}x${o.height}`, String(o.summary.faces), `${o.summary.masked}/${o.summary.unmasked}`, dets || '(no faces)'];
  });
  const header = ['image', 'size', 'faces', 'mask/no', 'detections'];
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c]!.length)));
  const line = (r: string[]) => r.map((v, c) => (c === r.length - 1 ? v : v.padEnd(widths[c]!))).join('  ');
  return [line(header), ...rows.map(line)].join('\n') + '\n';
}

/**
 * onnxruntime-node 1.30 crashes (SIGSEGV) creating a session in a process whose command line is
 * longer than ~28 KiB (measured here: 28,931 bytes work, 28,932 crash; in a worker thread too), and
 * `pnpm detect photos/*` easily passes that. Such a run hands its paths to a child on stdin.
 */
const maxCommandLineBytes = 16 * 1024;

function commandLineBytes(): number {
  try {
    return readFileSync('/proc/self/cmdline').length;
  } catch {
    return [process.execPath, ...process.execArgv, ...process.argv.slice(1)].reduce((n, a) => n + Buffer.byteLength(a) + 1, 0);
  }
}

function relaunchWithPathsOnStdin(args: CliArgs): Promise<number> {
  const options = [...(args.json ? ['--json'] : []), '--batch-size', String(args.batchSize), '--threads', String(args.threads)];
  const child = spawn(process.execPath, [...process.execArgv, process.argv[1]!, ...options, '--files0-from', '-'], { stdio: ['pipe', 'inherit', 'inherit'] });
  child.stdin.end(args.paths.join('\0'));
  return new Promise((resolveExit) => {
    child.on('error', (err) => {
      process.stderr.write(`maskq detect: cannot start a child process: ${err.message}\n`);
      resolveExit(1);
    });
    child.on('close', (code, signal) => resolveExit(code ?? (signal ? 1 : 0)));
  });
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export async function main(argv: readonly string[]): Promise<number> {
  let args: CliArgs | 'help';
  try {
    args = parseArgs(argv);
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`maskq detect: ${err.message}\n\n${usage}`);
      return 2;
    }
    throw err;
  }
  if (args === 'help') {
    process.stdout.write(usage);
    return 0;
  }
  if (args.filesFrom) {
    const { file, separator } = args.filesFrom;
    const text = file === '-' ? await readStdin() : await readFile(resolve(process.env.INIT_CWD || process.cwd(), file), 'utf8').catch(() => undefined);
    if (text === undefined) {
      process.stderr.write(`maskq detect: cannot read ${file}\n\n${usage}`);
      return 2;
    }
    // A list written on Windows ends its lines with \r\n.
    args.paths.push(...text.split(separator).map((p) => (separator === '\n' ? p.replace(/\r$/, '') : p)).filter((p) => p.length > 0));
    if (args.paths.length === 0) {
      process.stderr.write(`maskq detect: no image paths given\n\n${usage}`);
      return 2;
    }
  } else if (commandLineBytes() > maxCommandLineBytes) {
    return relaunchWithPathsOnStdin(args);
  }
  const config = loadConfigOrExit();
  const baseDir = process.env.INIT_CWD || process.cwd();
  const threads = args.threads;
  const detector = await Detector.create({
    inferenceThreads: threads,
    modelDir: config.MODEL_DIR,
    executionProvider: config.EXECUTION_PROVIDER,
    cudaFallback: config.CUDA_FALLBACK,
    intraOpThreads: config.INTRA_OP_THREADS,
    graphOptimizationLevel: config.GRAPH_OPTIMIZATION_LEVEL,
    intraOpSpinning: config.INTRA_OP_SPINNING,
    maxPixels: config.MAX_IMAGE_PIXELS,
    maxBatchSize: args.batchSize,
    logger: stderrLogger,
  });
  const outcomes: Array<[string, Outcome]> = [];
  try {
    const read = (paths: string[]) => mapLimit(paths, 8, (p) => readImage(resolve(baseDir, p), config.MAX_IMAGE_BYTES));
    const chunks: string[][] = [];
    // With inference threads, each detectBatch call gets one inference batch per thread and one more to decode meanwhile.
    const group = args.batchSize * (threads > 0 ? threads + 1 : 1);
    for (let i = 0; i < args.paths.length; i += group) chunks.push(args.paths.slice(i, i + group));
    // Read the next chunk's files while the current one is decoded and inferred.
    let pending = read(chunks[0]!);
    for (let c = 0; c < chunks.length; c++) {
      const files = await pending;
      if (c + 1 < chunks.length) pending = read(chunks[c + 1]!);
      const readable = files.filter((f): f is Uint8Array => !(f instanceof MaskqError));
      const detected = await detector.detectBatch(readable);
      let k = 0;
      chunks[c]!.forEach((path, i) => {
        const file = files[i]!;
        const r = file instanceof MaskqError ? file : detected[k++]!;
        outcomes.push([path, r instanceof MaskqError ? { error: r.toJSON() } : r]);
      });
    }
  } finally {
    await detector.close();
  }
  if (args.json) {
    const obj: Record<string, Outcome> = {};
    for (const [path, o] of outcomes) obj[path] = o;
    process.stdout.write(`${JSON.stringify(obj, null, 2)}\n`);
  } else {
    process.stdout.write(formatTable(outcomes));
  }
  return outcomes.some(([, o]) => 'error' in o) ? 1 : 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    const message = err instanceof Error ? err.message : String(err);
    const code = err instanceof MaskqError ? err.code : 'internal_error';
    process.stderr.write(`maskq detect: ${code}: ${message}\n`);
    process.exitCode = 1;
  },
);
