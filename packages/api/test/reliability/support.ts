/**
 * Real processes for the reliability tests: our own redis-server (with AOF), the API as a child
 * process, the worker as a child process (WorkerChild), a load generator that submits through
 * the real API, and a tracker that counts `completed` events per job id.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { QueueEvents } from 'bullmq';
import { afterAll } from 'vitest';
import { Redis } from 'ioredis';
import { createKeys, queueNames } from '@maskq/shared';
import { deleteKeysUnder, testRedisUrl, uniquePrefix } from '../../../../test-support/redis.js';
import { fixtureImagesDir, modelDir, repoRoot } from '../../../../test-support/paths.js';

export { WorkerChild } from '../../../worker/test/support/worker-harness.js';

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export interface Fixture {
  name: string;
  bytes: Buffer;
  type: string;
}

/** The small fixture photos (no camera scenes: keeps inference cheap on a 2-core machine). */
export function smallFixtures(): Fixture[] {
  return readdirSync(fixtureImagesDir)
    .filter((n) => /^(mask|nomask)_.*\.(jpe?g|png)$/i.test(n))
    .sort()
    .map((name) => ({ name, bytes: readFileSync(join(fixtureImagesDir, name)), type: name.endsWith('.png') ? 'image/png' : 'image/jpeg' }));
}

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function waitUntil(check: () => Promise<boolean> | boolean, timeoutMs: number, what: string): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

/** A private redis-server on a free port, AOF on with fsync on every write, data in a temp dir. */
export class RedisServer {
  readonly dir = mkdtempSync(join(tmpdir(), 'maskq-redis-'));
  private child: ChildProcess | undefined;
  private constructor(readonly port: number) {}

  static async start(): Promise<RedisServer> {
    const server = new RedisServer(await freePort());
    await server.start();
    return server;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    this.child = spawn(
      'redis-server',
      ['--port', String(this.port), '--bind', '127.0.0.1', '--appendonly', 'yes', '--appendfsync', 'always', '--save', '', '--dir', this.dir],
      { stdio: 'ignore' },
    );
    await waitUntil(() => this.ping(), 10_000, `redis-server on ${this.port}`);
  }

  async ping(): Promise<boolean> {
    const client = new Redis(this.url, { lazyConnect: true, maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => null });
    client.on('error', () => undefined);
    try {
      await client.connect();
      return (await client.ping()) === 'PONG';
    } catch {
      return false;
    } finally {
      client.disconnect();
    }
  }

  /** Kills the server outright (SIGKILL): what AOF with appendfsync always must survive. */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
  }

  async dispose(): Promise<void> {
    await this.kill();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** The API as `pnpm --filter @maskq/api start` runs it, on a fixed port so it can be restarted in place. */
export class ApiChild {
  readonly exited: Promise<number | null>;
  private readonly child: ChildProcess;
  private text = '';

  constructor(
    readonly port: number,
    env: Record<string, string>,
  ) {
    this.child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', 'packages/api/src/main.ts'], {
      cwd: repoRoot,
      env: { PATH: process.env.PATH, HOST: '127.0.0.1', PORT: String(port), MODEL_DIR: modelDir, LOG_LEVEL: 'warn', ALLOW_UNAUTHENTICATED: 'true', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child.stdout!.setEncoding('utf8').on('data', (d: string) => (this.text = (this.text + d).slice(-20_000)));
    this.child.stderr!.setEncoding('utf8').on('data', (d: string) => (this.text = (this.text + d).slice(-20_000)));
    this.exited = new Promise((resolve) => this.child.once('exit', (code) => resolve(code)));
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  output(): string {
    return this.text;
  }

  async ready(timeoutMs = 30_000): Promise<void> {
    let exited = false;
    void this.exited.then(() => (exited = true));
    await waitUntil(
      async () => {
        if (exited) throw new Error(`api exited before listening\n${this.text}`);
        try {
          return (await fetch(`${this.url}/health`, { signal: AbortSignal.timeout(1000) })).status === 200;
        } catch {
          return false;
        }
      },
      timeoutMs,
      'the API to listen',
    );
  }

  kill(signal: NodeJS.Signals): void {
    this.child.kill(signal);
  }

  async dispose(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill('SIGKILL');
      await this.exited;
    }
  }
}

export interface Submission {
  status: number;
  code?: string;
  id?: string;
  ms: number;
  /** when the request was sent, ms since the load started */
  at: number;
}

/**
 * Submits images through the real API without pause (`concurrency` requests in flight), each with
 * a per-request timeout, and records every answer. A request that does not answer in time is a
 * failure of the test (status 0, code 'timeout').
 */
export class LoadGenerator {
  readonly submissions: Submission[] = [];
  private running = true;
  private readonly loops: Promise<void>[] = [];
  readonly startedAt = Date.now();
  private n = 0;

  constructor(
    private readonly url: () => string,
    private readonly fixtures: Fixture[],
    options: { concurrency?: number; pauseMs?: number; timeoutMs?: number } = {},
  ) {
    const { concurrency = 2, pauseMs = 20, timeoutMs = 5000 } = options;
    for (let i = 0; i < concurrency; i++) this.loops.push(this.loop(pauseMs, timeoutMs));
  }

  private async loop(pauseMs: number, timeoutMs: number): Promise<void> {
    while (this.running) {
      const fixture = this.fixtures[this.n++ % this.fixtures.length]!;
      const body = new FormData();
      body.append('image', new Blob([fixture.bytes], { type: fixture.type }), fixture.name);
      const t0 = Date.now();
      const submission: Submission = { status: 0, ms: 0, at: t0 - this.startedAt };
      try {
        const res = await fetch(`${this.url()}/v1/jobs`, { method: 'POST', body, signal: AbortSignal.timeout(timeoutMs) });
        submission.status = res.status;
        const json = (await res.json().catch(() => ({}))) as { id?: string; error?: { code?: string } };
        if (res.status === 202) submission.id = json.id;
        else submission.code = json.error?.code ?? 'no_typed_error';
      } catch (err) {
        const cause = (err as { cause?: { code?: string } }).cause?.code;
        // Refused: nothing listened (restarting). Anything else (reset, socket closed mid-request)
        // means a request in flight was cut.
        submission.code = (err as Error).name === 'TimeoutError' ? 'timeout' : cause === 'ECONNREFUSED' ? 'connection_refused' : `cut:${cause ?? (err as Error).message}`;
      }
      submission.ms = Date.now() - t0;
      this.submissions.push(submission);
      // A refused connection (API restarting) answers at once; do not spin.
      await sleep(submission.status === 0 ? 100 : pauseMs);
    }
  }

  accepted(): string[] {
    return this.submissions.filter((s) => s.status === 202).map((s) => s.id!);
  }

  /** Waits until at least `n` submissions were accepted. */
  async acceptedAtLeast(n: number, timeoutMs = 60_000): Promise<void> {
    await waitUntil(() => this.accepted().length >= n, timeoutMs, `${n} accepted submissions`);
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
  }

  /** Counts of answers by `status code` (+ error code). */
  outcomes(): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const s of this.submissions) {
      const key = s.status === 202 ? '202' : `${s.status} ${s.code ?? ''}`.trim();
      counts[key] = (counts[key] ?? 0) + 1;
    }
    return counts;
  }
}

/** Counts `completed` / `failed` events per job id from BullMQ's event stream (from its start). */
export class CompletionTracker {
  readonly completed = new Map<string, number>();
  readonly failed = new Map<string, string>();
  private readonly connection: Redis;
  private readonly events: QueueEvents;

  constructor(redisUrl: string, prefix: string) {
    this.connection = new Redis(redisUrl, { maxRetriesPerRequest: null });
    this.connection.on('error', () => undefined);
    this.events = new QueueEvents(queueNames.detect, { connection: this.connection, prefix: createKeys(prefix).bullPrefix, lastEventId: '0' });
    this.events.on('error', () => undefined);
    this.events.on('completed', ({ jobId }) => this.completed.set(jobId, (this.completed.get(jobId) ?? 0) + 1));
    this.events.on('failed', ({ jobId, failedReason }) => this.failed.set(jobId, failedReason));
  }

  waitUntilReady(): Promise<unknown> {
    return this.events.waitUntilReady();
  }

  /** Waits until every id has a `completed` event (or one failed for good: then it throws). */
  async allCompleted(ids: string[], timeoutMs: number): Promise<void> {
    await waitUntil(
      () => {
        const failed = ids.filter((id) => this.failed.has(id));
        if (failed.length > 0) throw new Error(`jobs failed: ${failed.map((id) => `${id}: ${this.failed.get(id)}`).join(', ')}`);
        return ids.every((id) => this.completed.has(id));
      },
      timeoutMs,
      `${ids.length} completions (have ${ids.filter((id) => this.completed.has(id)).length})`,
    );
  }

  /** Ids completed more than once. */
  duplicates(): string[] {
    return [...this.completed].filter(([, n]) => n > 1).map(([id]) => id);
  }

  async close(): Promise<void> {
    await this.events.close().catch(() => undefined);
    this.connection.disconnect();
  }
}

/** Reliability tests keep locks short so a dead worker's jobs come back within seconds. */
export const fastRecoveryEnv = {
  LOCK_DURATION_MS: '2000',
  STALLED_INTERVAL_MS: '1000',
  MAX_STALLED_COUNT: '5',
  BATCH_MAX_SIZE: '8',
  SHUTDOWN_TIMEOUT_MS: '5000',
};

/**
 * What each fault test file sets up: its own queue prefix, a client to look into Redis, and
 * cleanups run in reverse after the file (then every key under the prefix is deleted).
 */
export function faultTestScope(label: string): { prefix: string; inspect: Redis; cleanup: Array<() => Promise<void>> } {
  const prefix = uniquePrefix(label);
  const inspect = new Redis(testRedisUrl);
  const cleanup: Array<() => Promise<void>> = [];
  afterAll(async () => {
    for (const c of cleanup.reverse()) await c().catch(() => undefined);
    await deleteKeysUnder(inspect, prefix);
    inspect.disconnect();
  });
  return { prefix, inspect, cleanup };
}
