#!/usr/bin/env node
import { basename } from 'node:path';
import { parseArgs } from 'node:util';
import { MaskqClient } from '../client.js';
import { MaskqApiError, MaskqTimeoutError } from '../errors.js';
import type { JobResource } from '../types.js';
import { ProgressBar } from './progress.js';
import { formatTable } from './table.js';

export const usage = `Usage: maskq submit <images...> [options]

Submits images to a maskq API and prints the jobs (or, with --wait, the results).

Options:
  --wait               wait for every job to finish and print its result
  --timeout MS         with --wait: give up on a job after MS milliseconds (default 120000)
  --callback URL       signed webhook to this URL when each job ends
  --annotate           also render annotated images (GET /v1/jobs/<id>/annotated.jpg)
  --server URL         API base URL (default $MASKQ_URL or http://127.0.0.1:8000)
  --key KEY            API key, sent as Authorization: Bearer (default $MASKQ_API_KEY)
  --json               print JSON instead of a table
  -h, --help           show this help

Exit status: 0 all succeeded, 1 any image failed or was rejected, 2 usage error.
`;

/** One image's outcome. */
interface Row {
  file: string;
  id?: string;
  status: string;
  job?: JobResource;
  error?: { code: string; message: string };
}

const batchSize = 50;
const waitConcurrency = 8;

async function mapLimit<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

const errorOf = (err: unknown): { code: string; message: string } =>
  err instanceof MaskqApiError ? { code: err.code, message: err.message } : err instanceof MaskqTimeoutError ? { code: 'timeout', message: err.message } : { code: 'error', message: (err as Error)?.message ?? String(err) };

export interface CliIo {
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WriteStream;
  env: NodeJS.ProcessEnv;
}

/** Runs the CLI; returns the exit code. */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        wait: { type: 'boolean', default: false },
        timeout: { type: 'string' },
        callback: { type: 'string' },
        annotate: { type: 'boolean', default: false },
        server: { type: 'string' },
        key: { type: 'string' },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (err) {
    io.stderr.write(`maskq: ${(err as Error).message}\n\n${usage}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    io.stdout.write(usage);
    return 0;
  }
  const [command, ...files] = positionals;
  if (command !== 'submit' || files.length === 0) {
    io.stderr.write(`maskq: ${command && command !== 'submit' ? `unknown command "${command}"` : command ? 'no images given' : 'no command given'}\n\n${usage}`);
    return 2;
  }
  const timeoutMs = values.timeout === undefined ? 120_000 : Number(values.timeout);
  if (!Number.isInteger(timeoutMs) || timeoutMs < 1) {
    io.stderr.write(`maskq: --timeout must be a positive integer (milliseconds)\n\n${usage}`);
    return 2;
  }
  const baseUrl = values.server ?? io.env.MASKQ_URL ?? 'http://127.0.0.1:8000';
  try {
    new URL(baseUrl);
  } catch {
    io.stderr.write(`maskq: --server must be a URL such as http://127.0.0.1:8000\n\n${usage}`);
    return 2;
  }
  const apiKey = values.key ?? io.env.MASKQ_API_KEY;
  const client = new MaskqClient({ baseUrl, ...(apiKey ? { apiKey } : {}) });
  const submitOptions = { ...(values.callback ? { callbackUrl: values.callback } : {}), ...(values.annotate ? { annotate: true } : {}) };

  const rows: Row[] = files.map((file) => ({ file, status: 'pending' }));
  const progress = new ProgressBar(io.stderr, rows.length * (values.wait ? 2 : 1), values.wait ? 'submit+wait' : 'submit');

  // Submit: one request for a single image, batches of up to 50 otherwise.
  for (let start = 0; start < rows.length; start += batchSize) {
    const chunk = rows.slice(start, start + batchSize);
    try {
      if (chunk.length === 1) {
        const accepted = await client.submit(chunk[0]!.file, submitOptions);
        Object.assign(chunk[0]!, { id: accepted.id, status: accepted.status });
      } else {
        const entries = await client.submitBatch(chunk.map((r) => r.file), submitOptions);
        for (const entry of entries) {
          const row = chunk[entry.index];
          if (!row) continue;
          if ('error' in entry) Object.assign(row, { status: 'rejected', error: entry.error });
          else Object.assign(row, { id: entry.id, status: entry.status });
        }
      }
    } catch (err) {
      for (const row of chunk) Object.assign(row, { status: 'rejected', error: errorOf(err) });
    }
    for (const row of chunk) progress.tick(row.status === 'rejected');
  }

  if (values.wait) {
    const queued = rows.filter((r) => r.id);
    for (const r of rows) if (!r.id) progress.tick(true);
    await mapLimit(queued, waitConcurrency, async (row) => {
      try {
        const job = await client.wait(row.id!, { timeoutMs });
        Object.assign(row, { job, status: job.status, ...(job.error ? { error: job.error } : {}) });
      } catch (err) {
        Object.assign(row, { status: err instanceof MaskqTimeoutError ? 'timeout' : 'error', error: errorOf(err) });
      }
      progress.tick(row.status !== 'completed');
    });
  }
  progress.finish();

  const ok = (r: Row) => (values.wait ? r.status === 'completed' : r.status === 'queued');
  if (values.json) {
    io.stdout.write(
      JSON.stringify(
        rows.map((r) => ({ file: r.file, ...(r.id ? { id: r.id } : {}), status: r.status, ...(r.job?.result ? { result: r.job.result } : {}), ...(r.job?.timings ? { timings: r.job.timings } : {}), ...(r.error ? { error: r.error } : {}) })),
        null,
        2,
      ) + '\n',
    );
  } else if (values.wait) {
    io.stdout.write(
      formatTable(
        ['file', 'id', 'status', 'faces', 'masked', 'unmasked', 'total_ms', 'error'],
        rows.map((r) => {
          const s = r.job?.result?.summary;
          return [basename(r.file), r.id ?? '-', r.status, s?.faces ?? '-', s?.masked ?? '-', s?.unmasked ?? '-', r.job?.timings?.total_ms ?? '-', r.error ? `${r.error.code}: ${r.error.message}` : ''];
        }),
      ),
    );
  } else {
    io.stdout.write(formatTable(['file', 'id', 'status', 'error'], rows.map((r) => [basename(r.file), r.id ?? '-', r.status, r.error ? `${r.error.code}: ${r.error.message}` : ''])));
  }
  const failed = rows.filter((r) => !ok(r)).length;
  if (failed > 0 && !values.json) io.stderr.write(`maskq: ${failed} of ${rows.length} failed\n`);
  return failed > 0 ? 1 : 0;
}

// Run when executed directly (bin or `pnpm maskq`), not when imported by tests.
const invoked = process.argv[1] ?? '';
if (/(?:^|[\\/])(?:main\.(?:ts|js)|maskq)$/.test(invoked)) {
  runCli(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, env: process.env }).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`maskq: ${(err as Error)?.stack ?? String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
