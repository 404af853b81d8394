import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Redis } from 'ioredis';
import { BlobStore, createDetectQueue, createKeys, createRedis, loadConfig, type Config, type DetectJobData, type DetectQueue, type ImageFormat } from '@maskq/shared';
import { fixtureImagesDir, modelDir } from '../../../../test-support/paths.js';
import { keysUnder, testRedisUrl } from '../../../../test-support/redis.js';

const workerPackageDir = fileURLToPath(new URL('../../', import.meta.url));
export const apiPackageDir = fileURLToPath(new URL('../../../api/', import.meta.url));
/** The served model; TEST_MODEL_DIR points elsewhere (e.g. a converter output not yet committed). */
export const testModelDir = process.env.TEST_MODEL_DIR ?? modelDir;

export interface Fixture {
  name: string;
  bytes: Buffer;
  format: ImageFormat;
}

export function loadFixtures(): Fixture[] {
  return readdirSync(fixtureImagesDir)
    .filter((name) => /\.(jpe?g|png)$/i.test(name))
    .sort()
    .map((name) => ({ name, bytes: readFileSync(join(fixtureImagesDir, name)), format: name.endsWith('.png') ? 'png' : 'jpeg' }));
}

/** A queue and blob store on a test prefix, the way the API will enqueue. */
export class TestQueue {
  readonly config: Config;
  readonly redis: Redis;
  readonly blobStore: BlobStore;
  readonly queue: DetectQueue;

  constructor(readonly prefix: string) {
    this.config = loadConfig({ REDIS_URL: testRedisUrl, QUEUE_PREFIX: prefix });
    const keys = createKeys(prefix);
    this.redis = createRedis(this.config, { blocking: true }) as Redis; // REDIS_URL: always one node here
    this.blobStore = new BlobStore(this.redis, keys, this.config.BLOB_TTL_SECONDS);
    this.queue = createDetectQueue({ connection: this.redis, keys, config: this.config });
  }

  /** Stores the blobs in one round trip and adds the jobs in another; returns the job ids in order. */
  async enqueue(images: Array<{ bytes: Buffer; format: ImageFormat; deadline?: number; data?: Partial<DetectJobData> }>): Promise<string[]> {
    const ids = images.map(() => randomUUID());
    const blobKeys = await this.blobStore.putMany(images.map((image, i) => ({ jobId: ids[i]!, bytes: image.bytes })));
    const now = Date.now();
    await this.queue.addBulk(
      images.map((image, i) => {
        const data: DetectJobData = { blobKey: blobKeys[i]!, format: image.format, bytes: image.bytes.length, submittedAt: now };
        if (image.deadline !== undefined) data.deadline = image.deadline;
        Object.assign(data, image.data);
        return { name: 'detect', data, opts: { jobId: ids[i]! } };
      }),
    );
    return ids;
  }

  /** Resolves when `count` jobs are completed or failed. */
  async waitFinished(count: number, timeoutMs = 45_000): Promise<void> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const counts = await this.queue.getJobCounts('completed', 'failed');
      if ((counts.completed ?? 0) + (counts.failed ?? 0) >= count) return;
      if (Date.now() > until) throw new Error(`timed out waiting for ${count} finished jobs: ${JSON.stringify(counts)}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  /**
   * Blob keys still in Redis once they stop disappearing: a worker deletes the blobs of a batch
   * just after completing its jobs, so a check right after the last completion must wait a little.
   */
  async blobKeysLeft(allowed: (key: string) => boolean = () => false, timeoutMs = 5000): Promise<string[]> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const left = (await keysUnder(this.redis, this.prefix)).filter((k) => k.includes(':blob:') && !allowed(k));
      if (left.length === 0 || Date.now() > until) return left;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  async close(): Promise<void> {
    await this.queue.close();
    this.redis.disconnect();
  }
}

export interface LogLine {
  level: number;
  msg: string;
  [key: string]: unknown;
}

/**
 * A real worker process (`node --import tsx src/main.ts`), as `pnpm --filter @maskq/worker start` runs it.
 * `packageDir` runs another package's main the same way (the API: `apiPackageDir`).
 */
export class WorkerChild {
  readonly lines: LogLine[] = [];
  readonly exited: Promise<number | null>;
  private readonly child: ChildProcess;
  private stderr = '';

  constructor(env: Record<string, string>, packageDir = workerPackageDir) {
    this.child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', 'src/main.ts'], {
      cwd: packageDir,
      env: {
        PATH: process.env.PATH,
        REDIS_URL: testRedisUrl,
        MODEL_DIR: testModelDir,
        WORKER_METRICS_PORT: '0',
        WORKER_METRICS_HOST: '127.0.0.1',
        LOG_LEVEL: 'info',
        INTRA_OP_THREADS: '1',
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let buffered = '';
    this.child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      buffered += chunk;
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        try {
          this.lines.push(JSON.parse(line) as LogLine);
        } catch {
          /* not a log line */
        }
      }
    });
    this.child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (this.stderr += chunk));
    this.exited = new Promise((resolve) => this.child.once('exit', (code) => resolve(code)));
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** Resolves with the first log line matching, or throws when the process exits or time runs out. */
  async waitForLog(match: (line: LogLine) => boolean, timeoutMs = 30_000): Promise<LogLine> {
    const until = Date.now() + timeoutMs;
    let exited = false;
    void this.exited.then(() => (exited = true));
    for (;;) {
      const found = this.lines.find(match);
      if (found) return found;
      if (exited) throw new Error(`worker exited before the expected log line\n${this.output()}`);
      if (Date.now() > until) throw new Error(`timed out waiting for a log line\n${this.output()}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  /** The end of what the process wrote, for failure messages. */
  output(): string {
    const last = this.lines.slice(-10).map((l) => JSON.stringify(l));
    return `stdout:\n${last.join('\n')}\nstderr:\n${this.stderr.slice(-2000)}`;
  }

  async ready(): Promise<{ opsPort: number }> {
    const listening = await this.waitForLog((l) => l.msg.startsWith('ops endpoints listening'), 60_000);
    await this.waitForLog((l) => l.msg === 'worker ready', 60_000);
    return { opsPort: listening.port as number };
  }

  batches(): LogLine[] {
    return this.lines.filter((l) => l.msg === 'batch done');
  }

  kill(signal: NodeJS.Signals): void {
    this.child.kill(signal);
  }

  /** Test cleanup: SIGKILL if still running. */
  async dispose(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill('SIGKILL');
      await this.exited;
    }
  }
}
