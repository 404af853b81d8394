import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { caffeModelDir, loadFixtureBodies } from './fixtures.js';
import { HttpTarget, isSuccessfulDetect } from './http-target.js';
import type { MultipartBody } from './multipart.js';
import { benchDir, repoRoot } from './paths.js';
import { processGroupCpuMs } from './process-cpu.js';
import { freePort, ManagedProcess, waitUntilReady } from './processes.js';

/** A running system under test: where to send images, what to send, how to stop it. */
export interface RunningTarget {
  name: string;
  /** the sync detect URL */
  detectUrl: string;
  baseUrl: string;
  bodies: MultipartBody[];
  /** CPU ms used so far by all of the system's processes (NaN where unknown) */
  cpuMs(): number;
  stop(): Promise<void>;
}

const seedPackages = 'python3-fastapi python3-uvicorn python3-multipart python3-opencv';

/** The Python that has the seed's Debian packages: SEED_PYTHON, else /usr/bin/python3, else python3. */
export function seedPython(): string {
  return process.env.SEED_PYTHON ?? (existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3');
}

/** Throws with install instructions when the seed's Python modules are missing. */
export function checkSeedDependencies(python = seedPython()): void {
  const probe = spawnSync(python, ['-c', 'import cv2, fastapi, uvicorn, multipart'], { encoding: 'utf8' });
  if (probe.status !== 0) {
    throw new Error(
      `the seed server needs FastAPI, uvicorn, python-multipart and OpenCV for ${python}:\n` +
        `  apt-get update && apt-get install -y --no-install-recommends ${seedPackages}\n` +
        `(or set SEED_PYTHON to a python3 that has them)\n${probe.stderr || probe.error?.message || ''}`,
    );
  }
  if (!existsSync(join(caffeModelDir, 'face_mask_detection.caffemodel'))) {
    throw new Error(`the Caffe model is missing: ${caffeModelDir} (set SHARED_DIR)`);
  }
}

async function answersOneImage(url: string, body: MultipartBody): Promise<boolean> {
  const target = new HttpTarget(url, { maxSockets: 1, timeoutMs: 30_000 });
  try {
    const problem = isSuccessfulDetect(await target.post(body));
    if (problem) throw new Error(problem);
    return true;
  } finally {
    target.close();
  }
}

/** Starts the seed design (uvicorn, 2 workers) on a free port; ready once it answers a real image. */
export async function startSeed(options: { workers?: number } = {}): Promise<RunningTarget> {
  const python = seedPython();
  checkSeedDependencies(python);
  const port = await freePort();
  const server = new ManagedProcess({
    name: 'seed (uvicorn)',
    command: python,
    args: ['-m', 'uvicorn', 'app:app', '--workers', String(options.workers ?? 2), '--host', '127.0.0.1', '--port', String(port), '--log-level', 'warning'],
    cwd: join(benchDir, 'seed'),
    env: { ...process.env, SEED_MODEL_DIR: caffeModelDir },
  });
  const baseUrl = `http://127.0.0.1:${port}`;
  const detectUrl = `${baseUrl}/detect`;
  const bodies = loadFixtureBodies('file');
  try {
    // Both uvicorn workers must have loaded the model: ask a few times.
    await waitUntilReady('the seed server', async () => (await Promise.all([0, 1, 2, 3].map((i) => answersOneImage(detectUrl, bodies[i] as MultipartBody)))).every(Boolean), [server]);
  } catch (err) {
    await server.stop();
    throw err;
  }
  return { name: 'seed', baseUrl, detectUrl, bodies, cpuMs: () => groupsCpu([server]), stop: () => server.stop() };
}

export const maskqApiEntry = join(repoRoot, 'packages', 'api', 'src', 'main.ts');
export const maskqWorkerEntry = join(repoRoot, 'packages', 'worker', 'src', 'main.ts');

/** Throws a clear error when the API or worker entry points are not in this checkout yet. */
export function checkMaskqPresent(): void {
  const missing = [maskqApiEntry, maskqWorkerEntry].filter((p) => !existsSync(p));
  if (missing.length) {
    throw new Error(
      `maskq cannot be benchmarked from this checkout: missing ${missing.map((p) => p.slice(repoRoot.length + 1)).join(', ')}.\n` +
        'Merge the API and worker first, or run with --only seed.',
    );
  }
}

/** Throws a clear error when Redis does not answer PING at `redisUrl`. */
export async function checkRedis(redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'): Promise<void> {
  const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 3000 });
  redis.on('error', () => {});
  try {
    await redis.connect();
    await redis.ping();
  } catch (err) {
    throw new Error(`maskq needs Redis at ${redisUrl} (set REDIS_URL): ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  } finally {
    redis.disconnect();
  }
}

export interface MaskqOptions {
  redisUrl?: string;
  /** form field for the image (the API takes `file` or `image`) */
  field?: string;
  /** extra environment for the workers (EXECUTION_PROVIDER, batch settings...) */
  workerEnv?: NodeJS.ProcessEnv;
  /** worker processes to start (default 1; 0 = the API alone, ready once /health answers) */
  workers?: number;
  /** extra node flags for the workers (e.g. --cpu-prof, which NODE_OPTIONS does not allow) */
  workerNodeArgs?: string[];
  /** extra environment for the API (MAX_QUEUE_DEPTH, BLOB_TTL_SECONDS...) */
  apiEnv?: NodeJS.ProcessEnv;
  /** extra node flags for the API (e.g. --cpu-prof) */
  apiNodeArgs?: string[];
}

/** A running maskq: also where its parts are, for benchmarks that look inside. */
export interface MaskqTarget extends RunningTarget {
  name: 'maskq';
  redisUrl: string;
  /** the QUEUE_PREFIX of this run (BullMQ keys under `{prefix}`) */
  prefix: string;
  apiPid: number | undefined;
  workerPids: Array<number | undefined>;
  /** each worker's /metrics */
  workerMetricsUrls: string[];
}

/**
 * Starts the maskq API and its workers as child processes under a fresh QUEUE_PREFIX; ready once
 * /v1/detect answers a real image end to end. stop() ends them and deletes the prefix's keys.
 */
export async function startMaskq(options: MaskqOptions = {}): Promise<MaskqTarget> {
  checkMaskqPresent();
  const redisUrl = options.redisUrl ?? process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  await checkRedis(redisUrl);
  const prefix = `bench-${randomBytes(4).toString('hex')}`;
  const port = await freePort();
  const env = { ...process.env, REDIS_URL: redisUrl, QUEUE_PREFIX: prefix, LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn' };
  const nodeArgs = (entry: string): string[] => ['--conditions=source', '--import', 'tsx', entry];
  const api = new ManagedProcess({ name: 'maskq api', command: process.execPath, args: [...(options.apiNodeArgs ?? []), ...nodeArgs(maskqApiEntry)], cwd: repoRoot, env: { ...env, ...options.apiEnv, PORT: String(port) } });
  const workerCount = options.workers ?? 1;
  // Ports picked here (not WORKER_METRICS_PORT=0) so the bench can scrape each worker's /metrics.
  const metricsPorts: number[] = [];
  for (let i = 0; i < workerCount; i++) metricsPorts.push(await freePort());
  const workers = metricsPorts.map(
    (metricsPort, i) =>
      new ManagedProcess({
        name: `maskq worker ${i + 1}`,
        command: process.execPath,
        args: [...(options.workerNodeArgs ?? []), ...nodeArgs(maskqWorkerEntry)],
        cwd: repoRoot,
        env: { ...env, ...options.workerEnv, WORKER_METRICS_PORT: String(metricsPort) },
      }),
  );
  const stop = async (): Promise<void> => {
    await Promise.all([api.stop(), ...workers.map((w) => w.stop())]);
    await deletePrefix(redisUrl, prefix);
  };
  const baseUrl = `http://127.0.0.1:${port}`;
  const detectUrl = `${baseUrl}/v1/detect`;
  const bodies = loadFixtureBodies(options.field ?? 'file');
  try {
    if (workerCount > 0) await waitUntilReady('maskq (API + worker)', () => answersOneImage(detectUrl, bodies[0] as MultipartBody), [api, ...workers], 120_000);
    else await waitUntilReady('maskq API', async () => (await fetch(`${baseUrl}/health`)).ok, [api], 60_000);
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    name: 'maskq',
    baseUrl,
    detectUrl,
    bodies,
    cpuMs: () => groupsCpu([api, ...workers]),
    stop,
    redisUrl,
    prefix,
    apiPid: api.pid,
    workerPids: workers.map((w) => w.pid),
    workerMetricsUrls: metricsPorts.map((p) => `http://127.0.0.1:${p}/metrics`),
  };
}

function groupsCpu(processes: readonly ManagedProcess[]): number {
  const groups = processes.map((p) => p.pid).filter((pid): pid is number => pid !== undefined);
  return processGroupCpuMs(groups);
}

/** Deletes the keys a benchmark run left under its own prefix (ours and BullMQ's `{prefix}`). */
async function deletePrefix(redisUrl: string, prefix: string): Promise<void> {
  const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    for (const pattern of [`${prefix}:*`, `{${prefix}}:*`]) {
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
        cursor = next;
        if (keys.length) await redis.del(...keys);
      } while (cursor !== '0');
    }
  } catch (err) {
    console.warn(`could not clean up Redis keys under ${prefix}: ${err instanceof Error ? err.message : String(err)}`);
  } finally {
    redis.disconnect();
  }
}
