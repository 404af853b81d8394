import { spawn } from 'node:child_process';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobResource } from '@maskq/shared';
import { fixtureImagesDir, repoRoot } from '../../../test-support/paths.js';
import { uniquePrefix } from '../../../test-support/redis.js';
import { WorkerChild } from '../../worker/test/support/worker-harness.js';
import { startTestApi, type TestApi } from '../../api/test/harness.js';
import { createApiKeyring } from '../../api/src/auth/api-keys.js';
import { formatTable } from '../src/cli/table.js';
import { ProgressBar } from '../src/cli/progress.js';

// The CLI as a child process against a real API and a real worker process (the model).
const apiKey = 'mq_cli_test_key_0123456789abcdef';
const prefix = uniquePrefix('cli');
const fixture = (name: string) => join(fixtureImagesDir, name);
let api: TestApi;
let worker: WorkerChild;
let notAnImage: string;

beforeAll(async () => {
  api = await startTestApi({ prefix, deps: { apiKeys: createApiKeyring([apiKey]) } });
  worker = new WorkerChild({ QUEUE_PREFIX: prefix });
  notAnImage = join(mkdtempSync(join(tmpdir(), 'maskq-cli-')), 'notes.txt');
  writeFileSync(notAnImage, 'this is not an image');
  await worker.ready();
}, 120_000);

afterAll(async () => {
  await worker?.dispose();
  await api?.close();
});

function maskq(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', 'packages/client/src/cli/main.ts', ...args], {
      cwd: repoRoot,
      env: { PATH: process.env.PATH, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

const getJob = async (id: string) =>
  (await (await fetch(`${api.url}/v1/jobs/${id}`, { headers: { authorization: `Bearer ${apiKey}` } })).json()) as JobResource;

describe('maskq CLI', () => {
  it('submit --wait --json: results of every image, equal to the job resources; exit 0', async () => {
    const files = ['aizoo_demo2.jpg', 'mask_01.jpg', 'nomask_01.jpg'].map(fixture);
    const run = await maskq(['submit', ...files, '--wait', '--json', '--server', api.url, '--key', apiKey]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const rows = JSON.parse(run.stdout) as Array<{ file: string; id: string; status: string; result: JobResource['result'] }>;
    expect(rows.map((r) => r.file)).toEqual(files);
    for (const row of rows) {
      expect(row.status).toBe('completed');
      expect(row.result).toEqual((await getJob(row.id)).result);
    }
    expect(rows.reduce((n, r) => n + r.result!.summary.faces, 0)).toBeGreaterThan(0);
  });

  it('prints a table with the counts, key from MASKQ_API_KEY and server from MASKQ_URL', async () => {
    const run = await maskq(['submit', fixture('mask_01.jpg'), '--wait'], { MASKQ_URL: api.url, MASKQ_API_KEY: apiKey });
    expect(run.code).toBe(0);
    const [header, , line] = run.stdout.trimEnd().split('\n');
    expect(header).toMatch(/^file\s+id\s+status\s+faces\s+masked\s+unmasked\s+total_ms/);
    const id = /[0-9a-f-]{36}/.exec(line!)![0];
    const summary = (await getJob(id)).result!.summary;
    expect(line).toMatch(new RegExp(`^mask_01\\.jpg\\s+${id}\\s+completed\\s+${summary.faces}\\s+${summary.masked}\\s+${summary.unmasked}\\s+\\d+`));
  });

  it('without --wait prints the queued jobs', async () => {
    const run = await maskq(['submit', fixture('mask_02.jpg'), '--server', api.url, '--key', apiKey, '--json']);
    expect(run.code).toBe(0);
    const [row] = JSON.parse(run.stdout) as Array<{ id: string; status: string }>;
    expect(row!.status).toBe('queued');
    expect((await getJob(row!.id)).id).toBe(row!.id);
  });

  it('exit 1 when any image is rejected, the others still done', async () => {
    const run = await maskq(['submit', fixture('mask_03.jpg'), notAnImage, '--wait', '--json', '--server', api.url, '--key', apiKey]);
    expect(run.code).toBe(1);
    const rows = JSON.parse(run.stdout) as Array<{ status: string; error?: { code: string } }>;
    expect(rows[0]!.status).toBe('completed');
    expect(rows[1]).toMatchObject({ status: 'rejected', error: { code: 'unsupported_format' } });
  });

  it('exit 1 with the API error for a wrong key, or a server that is down', async () => {
    const wrongKey = await maskq(['submit', fixture('mask_01.jpg'), '--server', api.url, '--key', 'mq_wrong_key_0000000000000']);
    expect(wrongKey.code).toBe(1);
    expect(wrongKey.stdout).toMatch(/rejected\s+unauthorized: /);
    const down = await maskq(['submit', fixture('mask_01.jpg'), '--server', 'http://127.0.0.1:1']);
    expect(down.code).toBe(1);
    expect(down.stdout).toMatch(/unavailable: cannot reach/);
  });

  it('exit 2 on usage errors; --help exits 0', async () => {
    for (const args of [[], ['submit'], ['upload', 'x.jpg'], ['submit', 'x.jpg', '--bogus'], ['submit', 'x.jpg', '--timeout', 'soon'], ['submit', 'x.jpg', '--server', 'not a url']]) {
      const run = await maskq(args);
      expect(run.code, args.join(' ')).toBe(2);
      expect(run.stderr).toMatch(/Usage: maskq submit/);
    }
    const help = await maskq(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/Exit status/);
  });
});

describe('formatTable', () => {
  it('pads columns and right-aligns numeric ones', () => {
    expect(formatTable(['file', 'faces'], [['a.jpg', 3], ['long-name.jpg', 12]])).toBe(
      'file           faces\n-------------  -----\na.jpg              3\nlong-name.jpg     12\n',
    );
  });
});

describe('ProgressBar', () => {
  const stream = (isTTY: boolean) => {
    const written: string[] = [];
    return { written, stream: { isTTY, columns: 80, write: (s: string) => written.push(s) } as unknown as NodeJS.WriteStream };
  };

  it('redraws one line on a TTY and clears it at the end', () => {
    const tty = stream(true);
    const bar = new ProgressBar(tty.stream, 4, 'submit');
    bar.tick();
    bar.tick(true);
    bar.finish();
    const line = tty.written.at(-2)!;
    expect(line.startsWith('\r\x1b[2Ksubmit [')).toBe(true);
    expect(line).toMatch(/ \[#+\.+\] 2\/4, 1 failed$/);
    expect(tty.written.at(-1)).toBe('\r\x1b[2K');
  });

  it('writes nothing when stderr is not a TTY, or for one image', () => {
    const pipe = stream(false);
    const bar = new ProgressBar(pipe.stream, 4, 'submit');
    bar.tick();
    bar.finish();
    const single = stream(true);
    new ProgressBar(single.stream, 1, 'submit').finish();
    expect([...pipe.written, ...single.written]).toEqual([]);
  });
});
