import { readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { Express } from 'express';
import { Worker, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import {
  BlobStore,
  configSchema,
  createDetectQueue,
  createKeys,
  createLogger,
  createRedis,
  queueNames,
  type Config,
  type DetectJobData,
  type DetectJobReturn,
  type DetectQueue,
  type Keys,
  type ModelRef,
} from '@maskq/shared';
import { settleWithin } from '../src/util/within.js';
import { createApp, createJobEventsHub, startServer, type AppDeps, type JobEventsHub, type RunningServer } from '../src/index.js';
import { fixtureImagesDir } from '../../../test-support/paths.js';
import { deleteKeysUnder, testRedisUrl } from '../../../test-support/redis.js';

export const fixture = (name: string): Buffer => readFileSync(join(fixtureImagesDir, name));

export const testModel: ModelRef = { name: 'face-mask', version: '1.0.0' };

export interface TestApi {
  url: string;
  config: Config;
  keys: Keys;
  detectQueue: DetectQueue;
  blobStore: BlobStore;
  events: JobEventsHub;
  /** A plain client for assertions. */
  inspect: Redis;
  server: RunningServer;
  close(): Promise<void>;
}

/** A real API (real Redis, BullMQ, HTTP on port 0) under its own queue prefix. */
export async function startTestApi(options: {
  prefix: string;
  env?: Record<string, string>;
  model?: ModelRef | null;
  /** Optional deps (apiKeys, metricsRegistry, webhooksQueue, callbackGuard, logger). */
  deps?: Partial<Pick<AppDeps, 'apiKeys' | 'metricsRegistry' | 'webhooksQueue' | 'callbackGuard' | 'logger' | 'webDist'>>;
}): Promise<TestApi> {
  const config = configSchema.parse({ REDIS_URL: testRedisUrl, QUEUE_PREFIX: options.prefix, PORT: '0', ...options.env });
  const logger = createLogger({ level: process.env.TEST_LOG_LEVEL ?? 'silent', name: 'maskq-api-test' });
  const keys = createKeys(config.QUEUE_PREFIX);
  const redis = createRedis(config, { connectionName: 'maskq-api-test' });
  redis.on('error', () => undefined);
  const detectQueue = createDetectQueue({ connection: redis, keys, config });
  detectQueue.on('error', () => undefined);
  const blobStore = new BlobStore(redis, keys, config.BLOB_TTL_SECONDS);
  const eventsConnection = createRedis(config, { blocking: true });
  eventsConnection.on('error', () => undefined);
  const events = createJobEventsHub({ connection: eventsConnection, keys });
  const model = options.model === null ? undefined : (options.model ?? testModel);
  const app = createApp({ config, keys, detectQueue, blobStore, events, redis, logger, model, ...options.deps });
  const server = await startServer(app, { host: '127.0.0.1', port: 0 });
  const inspect = new Redis(testRedisUrl);
  if (config.REDIS_URL === testRedisUrl) await events.waitUntilReady();
  return {
    url: server.url,
    config,
    keys,
    detectQueue,
    blobStore,
    events,
    inspect,
    server,
    async close() {
      await events.close();
      await server.close(1000);
      await settleWithin(detectQueue.close(), 1000);
      redis.disconnect();
      await deleteKeysUnder(inspect, options.prefix);
      inspect.disconnect();
    },
  };
}

export function fakeReturn(overrides: Partial<DetectJobReturn> = {}): DetectJobReturn {
  const now = Date.now();
  return {
    result: {
      width: 320,
      height: 240,
      detections: [{ label: 'mask', score: 0.9731, box: [10.5, 20, 110, 140.2] }],
      summary: { faces: 1, masked: 1, unmasked: 0 },
    },
    model: testModel,
    startedAt: now - 20,
    finishedAt: now,
    inferenceMs: 12.345,
    batchSize: 1,
    ...overrides,
  };
}

/** A real BullMQ worker on the test's queue, standing in for packages/worker. */
export function startTestWorker(
  api: Pick<TestApi, 'keys' | 'config'>,
  processor: (job: Job<DetectJobData, DetectJobReturn>) => Promise<DetectJobReturn>,
): TestWorker {
  const connection = createRedis(api.config, { blocking: true });
  const worker = new Worker<DetectJobData, DetectJobReturn>(queueNames.detect, processor, {
    connection,
    prefix: api.keys.bullPrefix,
    concurrency: 4,
  });
  worker.on('error', () => undefined);
  return {
    worker,
    async close() {
      await worker.close();
      connection.disconnect();
    },
  };
}

export interface TestWorker {
  worker: Worker<DetectJobData, DetectJobReturn>;
  close(): Promise<void>;
}

export function form(entries: Array<[string, Buffer | string, string?]>): FormData {
  const body = new FormData();
  for (const [name, value, filename] of entries) {
    if (typeof value === 'string' && filename === undefined) body.append(name, value);
    else body.append(name, new Blob([value]), filename ?? 'upload.bin');
  }
  return body;
}

export async function queueCounts(queue: DetectQueue): Promise<number> {
  const counts = await queue.getJobCounts('wait', 'active', 'delayed', 'completed', 'failed', 'prioritized');
  return Object.values(counts).reduce((a, b) => a + b, 0);
}

export async function blobKeys(api: Pick<TestApi, 'inspect' | 'config'>): Promise<string[]> {
  return api.inspect.keys(`${api.config.QUEUE_PREFIX}:blob:*`);
}

export interface SseEvent {
  event: string;
  data: string;
}

/** Reads a server-sent event stream until it ends; `onEvent` sees each event as it arrives. */
export async function readSse(url: string, onEvent?: (event: SseEvent) => void, signal?: AbortSignal): Promise<{ status: number; events: SseEvent[]; contentType: string | null }> {
  const res = await fetch(url, { headers: { accept: 'text/event-stream' }, signal });
  const events: SseEvent[] = [];
  if (!res.body || res.status !== 200) return { status: res.status, events, contentType: res.headers.get('content-type') };
  const decoder = new TextDecoder();
  let buffer = '';
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    buffer += decoder.decode(chunk, { stream: true });
    let sep: number;
    while ((sep = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, sep);
      buffer = buffer.slice(sep + 2);
      let event = 'message';
      const data: string[] = [];
      for (const line of block.split('\n')) {
        if (line.startsWith('event: ')) event = line.slice(7);
        else if (line.startsWith('data: ')) data.push(line.slice(6));
      }
      if (data.length === 0) continue; // comment / heartbeat
      const parsed = { event, data: data.join('\n') };
      events.push(parsed);
      onEvent?.(parsed);
    }
  }
  return { status: res.status, events, contentType: res.headers.get('content-type') };
}

/** A logger whose JSON lines land, parsed, in `lines`. */
export function captureLogger(level = 'info') {
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { lines, logger: createLogger({ level, name: 'api' }, sink) };
}

/** Serves an Express app on a free loopback port. */
export async function listenOnLoopback(app: Express): Promise<{ server: Server; base: string }> {
  const server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('no port');
  return { server, base: `http://127.0.0.1:${address.port}` };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function waitFor<T>(check: () => Promise<T | undefined | false>, timeoutMs = 10_000): Promise<T> {
  const start = Date.now();
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() - start > timeoutMs) throw new Error('waitFor timed out');
    await sleep(20);
  }
}
