import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { detectionResultSchema } from '@maskq/shared';
import { fixtureImagesDir, repoRoot } from '../../../test-support/paths.js';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function runCli(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', 'packages/worker/src/cli/detect.ts', ...args], {
      cwd: repoRoot,
      env: { ...process.env, INTRA_OP_THREADS: '1', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('pnpm detect (CLI)', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'maskq-cli-'));
    await writeFile(join(dir, 'notes.txt'), 'not an image');
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('--json: one JSON object keyed by the paths as given; exit 1 when one failed', async () => {
    const scene = join(fixtureImagesDir, 'scene_4faces_1280x720.jpg');
    // relative paths resolve against INIT_CWD (where pnpm was started)
    const run = await runCli(['--json', scene, 'mask_05.jpg', 'nomask_04.jpg', join(dir, 'notes.txt'), 'missing.jpg'], {
      INIT_CWD: fixtureImagesDir,
    });
    expect(run.code).toBe(1);
    const out = JSON.parse(run.stdout) as Record<string, unknown>;
    expect(Object.keys(out)).toEqual([scene, 'mask_05.jpg', 'nomask_04.jpg', join(dir, 'notes.txt'), 'missing.jpg']);
    expect(detectionResultSchema.parse(out[scene]).summary.faces).toBe(4);
    expect(detectionResultSchema.parse(out['mask_05.jpg']).summary.masked).toBe(1);
    expect(detectionResultSchema.parse(out['nomask_04.jpg']).summary.unmasked).toBeGreaterThanOrEqual(1);
    expect(out[join(dir, 'notes.txt')]).toEqual({ error: { code: 'invalid_image', message: expect.any(String) } });
    expect(out['missing.jpg']).toEqual({ error: { code: 'not_found', message: expect.any(String) } });
  });

  it('exit 0 when every image was processed; a readable table without --json', async () => {
    const json = await runCli(['--json', join(fixtureImagesDir, 'mask_08.png')]);
    expect(json.code).toBe(0);
    expect(Object.keys(JSON.parse(json.stdout) as object)).toEqual([join(fixtureImagesDir, 'mask_08.png')]);
    const table = await runCli([join(fixtureImagesDir, 'nomask_06.jpg')]);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/^image\s+size\s+faces/);
    expect(table.stdout).toMatch(/nomask_06\.jpg\s+\d+x\d+\s+1\s+0\/1\s+no_mask [01]\.\d\d \[/);
  });

  it('exit 2 with usage on stderr for no paths or an unknown flag', async () => {
    for (const args of [['--json'], ['--jsn', 'a.jpg'], ['--batch-size', '0', 'a.jpg'], ['--threads', '-1', 'a.jpg']]) {
      const run = await runCli(args);
      expect(run.code).toBe(2);
      expect(run.stdout).toBe('');
      expect(run.stderr).toMatch(/usage: pnpm detect/);
    }
  });

  it('--threads: inference threads give the same answers, in the order given, as the main thread', async () => {
    const names = ['mask_01.jpg', 'nomask_02.jpg', 'scene_4faces_1280x720.jpg', 'mask_08.png', 'aizoo_demo2.jpg', 'nomask_06.jpg', 'mask_05.jpg'];
    const paths = [...names, join(dir, 'notes.txt')];
    // batches of 2 on 2 threads: 8 paths in groups of 6, several batches in flight at once
    const [threaded, inline] = await Promise.all([
      runCli(['--json', '--threads', '2', '--batch-size', '2', ...paths], { INIT_CWD: fixtureImagesDir }),
      runCli(['--json', '--threads=0', ...paths], { INIT_CWD: fixtureImagesDir }),
    ]);
    expect(threaded.code).toBe(1);
    expect(inline.code).toBe(1);
    const a = JSON.parse(threaded.stdout) as Record<string, unknown>;
    expect(Object.keys(a)).toEqual(paths);
    expect(a).toEqual(JSON.parse(inline.stdout));
    expect(detectionResultSchema.parse(a['scene_4faces_1280x720.jpg']).summary.faces).toBe(4);
  });

  it('a command line too long for onnxruntime (> 28 KiB of paths) is handed to a child on stdin; --files-from reads paths from a file', async () => {
    const names = ['mask_01.jpg', 'nomask_02.jpg', 'mask_08.png'];
    const absolute = names.map((n) => join(fixtureImagesDir, n));
    const many: string[] = [];
    while (many.join(' ').length < 32 * 1024) many.push(...absolute);
    const long = await runCli(['--json', '--threads', '0', ...many]);
    expect(long.stderr).toBe('');
    expect(long.code).toBe(0);
    const out = JSON.parse(long.stdout) as Record<string, unknown>;
    expect(Object.keys(out)).toEqual(absolute);
    for (const path of absolute) detectionResultSchema.parse(out[path]);

    // CRLF lines (a list written on Windows) name the same files
    await writeFile(join(dir, 'list.txt'), `${names.join('\r\n')}\r\nmissing.jpg\n`);
    const listed = await runCli(['--json', '--files-from', join(dir, 'list.txt')], { INIT_CWD: fixtureImagesDir });
    expect(listed.code).toBe(1);
    const fromFile = JSON.parse(listed.stdout) as Record<string, unknown>;
    expect(Object.keys(fromFile)).toEqual([...names, 'missing.jpg']);
    expect(fromFile['mask_01.jpg']).toEqual(out[absolute[0]!]);
    const unreadable = await runCli(['--files-from', join(dir, 'nope.txt')]);
    expect(unreadable.code).toBe(2);
    expect(unreadable.stderr).toMatch(/cannot read/);
  });
});
