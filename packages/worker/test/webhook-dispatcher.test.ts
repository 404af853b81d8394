import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { Job, UnrecoverableError, Worker } from 'bullmq';
import {
  createDetectQueue,
  createKeys,
  createWebhookQueue,
  enqueueWebhooks,
  formatFailedReason,
  generateWebhookSecret,
  readWebhookState,
  toJobResource,
  verifyWebhook,
  webhookEntriesFor,
  webhookIdFor,
  webhookJobId,
  type DetectJobData,
  type DetectJobReturn,
  type DetectQueue,
  type JobResource,
  type Keys,
  type WebhookEvent,
  type WebhookQueue,
  type WebhookState,
} from '@maskq/shared';
import { WebhookDispatcher, webhookUserAgent, type WebhookDispatcherConfig } from '../src/webhooks/dispatcher.js';
import { postWebhook } from '../src/webhooks/http-post.js';
import { deleteKeysUnder, testRedisUrl, uniquePrefix } from '../../../test-support/redis.js';

const secret = generateWebhookSecret();
const redisUrl = new URL(testRedisUrl);
const connection = { host: redisUrl.hostname, port: Number(redisUrl.port || 6379) };
const redis = new Redis(testRedisUrl);

// ---------------------------------------------------------------------------
// Receivers: real HTTP servers on 127.0.0.1

interface Delivery {
  headers: IncomingHttpHeaders;
  body: Buffer;
}

type Answer = number | 'hang' | ((res: ServerResponse) => void);

interface Receiver {
  url: string;
  port: number;
  deliveries: Delivery[];
  /** requests the receiver is holding open right now */
  open: number;
  close(): Promise<void>;
}

const servers: Server[] = [];

async function startReceiver(answer: (n: number) => Answer): Promise<Receiver> {
  const receiver: Receiver = { url: '', port: 0, deliveries: [], open: 0, close: async () => {} };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      receiver.deliveries.push({ headers: req.headers, body: Buffer.concat(chunks) });
      const a = answer(receiver.deliveries.length);
      if (a === 'hang') {
        receiver.open++;
        res.on('close', () => receiver.open--);
        return;
      }
      if (typeof a === 'function') return a(res);
      res.writeHead(a, { 'content-type': 'text/plain' }).end('ok');
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  receiver.port = (server.address() as AddressInfo).port;
  receiver.url = `http://127.0.0.1:${receiver.port}/hooks/maskq?src=test`;
  receiver.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return receiver;
}

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

// ---------------------------------------------------------------------------
// A pipeline in miniature: detect queue + a real BullMQ Worker that completes
// or fails jobs and enqueues their webhooks, as the real worker will.

interface Harness {
  keys: Keys;
  detectQueue: DetectQueue;
  webhooks: WebhookQueue;
  dispatcher: WebhookDispatcher;
  submit(callbackUrl: string, options?: { fail?: boolean; events?: WebhookEvent[] }): Promise<string>;
  detectJob(id: string): Promise<Job<DetectJobData, DetectJobReturn>>;
  waitForWebhook(id: string, done?: (s: WebhookState) => boolean, timeoutMs?: number): Promise<WebhookState>;
  webhookJob(id: string, event?: WebhookEvent): Promise<Job | undefined>;
  /** starts the detect worker when the harness was built with `detectPaused` */
  startDetect(): void;
}

const harnesses: Array<{ prefix: string; close: () => Promise<void> }> = [];

const baseConfig: WebhookDispatcherConfig & { WEBHOOK_MAX_ATTEMPTS: number } = {
  WEBHOOK_SECRET: secret,
  WEBHOOK_CONCURRENCY: 4,
  WEBHOOK_TIMEOUT_MS: 400,
  WEBHOOK_BACKOFF_BASE_MS: 20,
  WEBHOOK_MAX_ATTEMPTS: 5,
  WEBHOOK_ALLOW_PRIVATE: true,
  WEBHOOK_ALLOWED_HOSTS: [],
  RESULT_TTL_SECONDS: 600,
};

const detectReturn: DetectJobReturn = {
  result: { width: 640, height: 480, detections: [{ label: 'mask', score: 0.97, box: [10, 20, 110, 140] }], summary: { faces: 1, masked: 1, unmasked: 0 } },
  model: { name: 'face-mask', version: '1.0.0' },
  startedAt: 0,
  finishedAt: 0,
  inferenceMs: 12.345,
  batchSize: 1,
};

async function createHarness(overrides: Partial<typeof baseConfig> = {}, { detectPaused = false } = {}): Promise<Harness> {
  const config = { ...baseConfig, ...overrides };
  const prefix = uniquePrefix('wh');
  const keys = createKeys(prefix);
  const jobConfig = { JOB_ATTEMPTS: 1, JOB_BACKOFF_MS: 0, RESULT_TTL_SECONDS: 600, FAILED_TTL_SECONDS: 600 };
  const detectQueue = createDetectQueue({ connection, keys, config: jobConfig });
  const webhooks = createWebhookQueue({ connection, keys, redis, config });
  const detectWorker = new Worker<DetectJobData, DetectJobReturn>(
    'detect',
    async (job) => {
      if (job.data.metadata?.fail) throw new UnrecoverableError(formatFailedReason('invalid_image', 'not an image'));
      const now = Date.now();
      return { ...detectReturn, startedAt: now, finishedAt: now + 1 };
    },
    { connection, prefix: keys.bullPrefix, autorun: !detectPaused },
  );
  // The wiring the real worker does once a job is final.
  detectWorker.on('completed', (job) => void enqueueWebhooks(webhooks, webhookEntriesFor(job, 'completed')));
  detectWorker.on('failed', (job) => {
    if (job) void enqueueWebhooks(webhooks, webhookEntriesFor(job, 'failed'));
  });
  const dispatcher = new WebhookDispatcher({ connection, redis, keys, config });
  harnesses.push({
    prefix,
    close: async () => {
      await detectWorker.close();
      await dispatcher.close();
      await webhooks.close();
      await detectQueue.close();
    },
  });

  const harness: Harness = {
    keys,
    detectQueue,
    webhooks,
    dispatcher,
    async submit(callbackUrl, options = {}) {
      const data: DetectJobData = {
        blobKey: keys.blob('x'),
        format: 'jpeg',
        bytes: 1234,
        submittedAt: Date.now(),
        metadata: { camera: 'door-1', ...(options.fail ? { fail: true } : {}) },
        callback: { url: callbackUrl, events: options.events ?? ['completed', 'failed'] },
      };
      const job = await detectQueue.add('detect', data);
      return job.id!;
    },
    async detectJob(id) {
      const job = await Job.fromId<DetectJobData, DetectJobReturn>(detectQueue, id);
      if (!job) throw new Error(`detect job ${id} not found`);
      return job;
    },
    async waitForWebhook(id, done = (s) => s.status !== 'pending', timeoutMs = 20_000) {
      const until = Date.now() + timeoutMs;
      for (;;) {
        const state = await readWebhookState(redis, keys, id);
        if (state && done(state)) return state;
        if (Date.now() > until) throw new Error(`webhook of ${id} still ${JSON.stringify(state)}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    async webhookJob(id, event = 'completed') {
      return Job.fromId(webhooks.queue, webhookJobId(id, event));
    },
    startDetect() {
      void detectWorker.run();
    },
  };
  return harness;
}

/** Waits until the detect job is finished and returns its state. */
async function detectFinished(h: Harness, id: string): Promise<string> {
  const until = Date.now() + 20_000;
  for (;;) {
    const state = await (await h.detectJob(id)).getState();
    if (state === 'completed' || state === 'failed') return state;
    if (Date.now() > until) throw new Error(`detect job ${id} is ${state}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Waits until BullMQ has settled a webhook job (completed or failed for good). */
async function settled(h: Harness, id: string, event: WebhookEvent = 'completed'): Promise<string> {
  const until = Date.now() + 20_000;
  for (;;) {
    const job = await h.webhookJob(id, event);
    const state = job ? await job.getState() : 'unknown';
    if (state === 'completed' || state === 'failed') return state;
    if (Date.now() > until) throw new Error(`webhook job of ${id} is ${state}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

afterAll(async () => {
  for (const h of harnesses) await h.close();
  for (const s of servers) {
    s.closeAllConnections();
    s.close();
  }
  for (const h of harnesses) await deleteKeysUnder(redis, h.prefix);
  redis.disconnect();
});

const parse = (d: Delivery): JobResource => JSON.parse(d.body.toString('utf8')) as JobResource;

// ---------------------------------------------------------------------------

describe('WebhookDispatcher', () => {
  it('POSTs the signed job resource, exactly as GET /v1/jobs/:id shows it', async () => {
    const h = await createHarness();
    const receiver = await startReceiver(() => 204);
    const id = await h.submit(receiver.url);
    const state = await h.waitForWebhook(id);
    expect(state).toEqual({ status: 'delivered', attempts: 1, last_status: 204 });
    expect(receiver.deliveries).toHaveLength(1);

    const delivery = receiver.deliveries[0]!;
    expect(delivery.headers['content-type']).toBe('application/json');
    expect(delivery.headers['user-agent']).toBe(webhookUserAgent);
    expect(delivery.headers['webhook-id']).toBe(webhookIdFor(id, 'completed'));
    expect(Math.abs(Number(delivery.headers['webhook-timestamp']) - Date.now() / 1000)).toBeLessThan(60);

    const payload = verifyWebhook(secret, delivery.headers, delivery.body);
    const job = await h.detectJob(id);
    expect(payload).toEqual(toJobResource(job, 'completed', { webhook: { status: 'pending', attempts: 1 } }));
    expect(payload.status).toBe('completed');
    expect(payload.result?.summary.masked).toBe(1);
    expect(payload.metadata).toEqual({ camera: 'door-1' });
  });

  it('sends the failed event with the typed error, and nothing for unsubscribed events', async () => {
    const h = await createHarness();
    const receiver = await startReceiver(() => 200);
    const unsubscribed = await h.submit(receiver.url, { events: ['failed'] });
    const failed = await h.submit(receiver.url, { fail: true });
    await h.waitForWebhook(failed);
    expect(receiver.deliveries).toHaveLength(1);
    const payload = parse(receiver.deliveries[0]!);
    expect(receiver.deliveries[0]!.headers['webhook-id']).toBe(webhookIdFor(failed, 'failed'));
    expect(payload.status).toBe('failed');
    expect(payload.error).toEqual({ code: 'invalid_image', message: 'not an image' });
    expect(payload).toEqual(toJobResource(await h.detectJob(failed), 'failed', { webhook: { status: 'pending', attempts: 1 } }));
    // the job that only wanted `failed` completed: no webhook job, no state
    expect(await detectFinished(h, unsubscribed)).toBe('completed');
    expect(await h.webhookJob(unsubscribed)).toBeUndefined();
    expect(await readWebhookState(redis, h.keys, unsubscribed)).toBeUndefined();
  });

  it('retries 500s with the same webhook-id until the receiver takes it: one delivery, 4 attempts', async () => {
    const h = await createHarness();
    const receiver = await startReceiver((n) => (n <= 3 ? 500 : 200));
    const id = await h.submit(receiver.url);
    const state = await h.waitForWebhook(id);
    expect(state).toEqual({ status: 'delivered', attempts: 4, last_status: 200 });
    expect(await settled(h, id)).toBe('completed');
    expect(receiver.deliveries).toHaveLength(4);
    const ids = new Set(receiver.deliveries.map((d) => d.headers['webhook-id']));
    expect([...ids]).toEqual([webhookIdFor(id, 'completed')]);
    // every attempt is signed on its own and verifies
    for (const d of receiver.deliveries) expect(verifyWebhook(secret, d.headers, d.body).id).toBe(id);
    expect(parse(receiver.deliveries[3]!).webhook).toEqual({ status: 'pending', attempts: 4, last_status: 500, last_error: 'receiver answered 500' });
  });

  it('ends failed after the configured attempts when the receiver is down for good', async () => {
    const h = await createHarness({ WEBHOOK_MAX_ATTEMPTS: 3 });
    const id = await h.submit(`http://127.0.0.1:${await closedPort()}/hook`);
    const state = await h.waitForWebhook(id);
    expect(state.status).toBe('failed');
    expect(state.attempts).toBe(3);
    expect(state.last_status).toBeUndefined();
    expect(state.last_error).toMatch(/ECONNREFUSED/);
    expect(await settled(h, id)).toBe('failed');
    expect((await h.webhookJob(id))?.attemptsMade).toBe(3);
  });

  it('stops at once on 410 Gone and on other 4xx; retries 429; does not follow a 302', async () => {
    const h = await createHarness();
    const gone = await startReceiver(() => 410);
    const bad = await startReceiver(() => 400);
    const busy = await startReceiver((n) => (n === 1 ? 429 : 200));
    const elsewhere = await startReceiver(() => 200);
    const redirect = await startReceiver(() => (res) => res.writeHead(302, { location: elsewhere.url }).end());

    const [goneId, badId, busyId, redirectId] = await Promise.all([
      h.submit(gone.url),
      h.submit(bad.url),
      h.submit(busy.url),
      h.submit(redirect.url),
    ]);

    expect(await h.waitForWebhook(goneId)).toEqual({
      status: 'failed',
      attempts: 1,
      last_status: 410,
      last_error: 'receiver answered 410 Gone; not retried',
    });
    expect(await h.waitForWebhook(badId)).toMatchObject({ status: 'failed', attempts: 1, last_status: 400 });
    expect(await h.waitForWebhook(busyId)).toEqual({ status: 'delivered', attempts: 2, last_status: 200 });
    expect(await h.waitForWebhook(redirectId)).toMatchObject({ status: 'failed', attempts: 1, last_status: 302 });

    for (const id of [goneId, badId, redirectId]) {
      expect(await settled(h, id)).toBe('failed');
      expect((await h.webhookJob(id))?.attemptsMade).toBe(1);
    }
    expect(gone.deliveries).toHaveLength(1);
    expect(bad.deliveries).toHaveLength(1);
    expect(busy.deliveries).toHaveLength(2);
    expect(redirect.deliveries).toHaveLength(1);
    expect(elsewhere.deliveries).toHaveLength(0);
  });

  it('cuts a hanging receiver at the timeout while other deliveries go on', async () => {
    const h = await createHarness({ WEBHOOK_MAX_ATTEMPTS: 2, WEBHOOK_TIMEOUT_MS: 3000 });
    const hanging = await startReceiver(() => 'hang');
    let hangingOpenAtFastDelivery = -1;
    const fast = await startReceiver(() => {
      hangingOpenAtFastDelivery = hanging.open;
      return 200;
    });
    const slowId = await h.submit(hanging.url);
    const until = Date.now() + 10_000;
    while (hanging.open === 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
    expect(hanging.open).toBe(1);

    const fastId = await h.submit(fast.url);
    expect(await h.waitForWebhook(fastId)).toMatchObject({ status: 'delivered' });
    // the fast receiver was served while the hanging request was still held open
    expect(hangingOpenAtFastDelivery).toBe(1);

    const slow = await h.waitForWebhook(slowId);
    expect(slow).toMatchObject({ status: 'failed', attempts: 2, last_error: 'timed out after 3000 ms' });
    expect(hanging.deliveries).toHaveLength(2);
    // the dispatcher hung up: no request is left open at the receiver
    const closedBy = Date.now() + 5000;
    while (hanging.open > 0 && Date.now() < closedBy) await new Promise((r) => setTimeout(r, 10));
    expect(hanging.open).toBe(0);
  });

  it('never sends the same event twice when it is enqueued again', async () => {
    const h = await createHarness();
    const receiver = await startReceiver(() => 200);
    const id = await h.submit(receiver.url, { events: ['failed'] });
    expect(await detectFinished(h, id)).toBe('completed');
    await enqueueWebhooks(h.webhooks, [{ jobId: id, event: 'failed' }]);
    await h.waitForWebhook(id);
    await enqueueWebhooks(h.webhooks, [{ jobId: id, event: 'failed' }]);
    await enqueueWebhooks(h.webhooks, [{ jobId: id, event: 'failed' }]);
    expect(await readWebhookState(redis, h.keys, id)).toMatchObject({ status: 'delivered', attempts: 1 });
    expect(await settled(h, id, 'failed')).toBe('completed');
    expect(receiver.deliveries).toHaveLength(1);
  });

  it('holds a webhook enqueued before its job finished until the job is final, without using attempts', async () => {
    const h = await createHarness({}, { detectPaused: true });
    const receiver = await startReceiver(() => 200);
    const id = await h.submit(receiver.url);
    // a producer that enqueues first, so a crash before completion cannot lose the webhook
    await enqueueWebhooks(h.webhooks, [{ jobId: id, event: 'completed' }]);
    await new Promise((r) => setTimeout(r, 800));
    expect(receiver.deliveries).toHaveLength(0);
    expect(await readWebhookState(redis, h.keys, id)).toEqual({ status: 'pending', attempts: 0 });
    h.startDetect();
    expect(await h.waitForWebhook(id)).toEqual({ status: 'delivered', attempts: 1, last_status: 200 });
    expect(receiver.deliveries).toHaveLength(1);
    expect(parse(receiver.deliveries[0]!).status).toBe('completed');
  });

  it('expires the delivery state with the result', async () => {
    const h = await createHarness({ RESULT_TTL_SECONDS: 120 });
    const receiver = await startReceiver(() => 200);
    const id = await h.submit(receiver.url);
    await h.waitForWebhook(id);
    const ttl = await redis.ttl(h.keys.webhookState(id));
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(120);
  });
});

describe('SSRF guard at delivery', () => {
  it('refuses a loopback callback when private addresses are not allowed, without calling it or retrying', async () => {
    const h = await createHarness({ WEBHOOK_ALLOW_PRIVATE: false });
    const receiver = await startReceiver(() => 200);
    const ids = await Promise.all([
      h.submit(receiver.url),
      h.submit(`http://localhost:${receiver.port}/hook`),
      h.submit(`http://[::ffff:127.0.0.1]:${receiver.port}/hook`),
      h.submit(`http://2130706433:${receiver.port}/hook`),
    ]);
    for (const id of ids) {
      const state = await h.waitForWebhook(id);
      expect(state.status).toBe('failed');
      expect(state.attempts).toBe(1);
      expect(state.last_error).toMatch(/^refused: .*loopback/);
      expect(await settled(h, id)).toBe('failed');
    }
    expect(receiver.deliveries).toHaveLength(0);
  });

  it('delivers to an allow-listed host name that resolves to loopback', async () => {
    const h = await createHarness({ WEBHOOK_ALLOW_PRIVATE: false, WEBHOOK_ALLOWED_HOSTS: ['localhost'] });
    const receiver = await startReceiver(() => 200);
    const allowed = await h.submit(`http://localhost:${receiver.port}/hook`);
    const literal = await h.submit(receiver.url);
    expect(await h.waitForWebhook(allowed)).toMatchObject({ status: 'delivered' });
    expect(await h.waitForWebhook(literal)).toMatchObject({ status: 'failed', attempts: 1 });
    expect(receiver.deliveries).toHaveLength(1);
    expect(receiver.deliveries[0]!.headers.host).toBe(`localhost:${receiver.port}`);
  });

  it('connects to the checked address, never to a fresh DNS answer', async () => {
    const receiver = await startReceiver(() => 202);
    // `pinned.invalid` cannot resolve; the request still reaches the pinned address and keeps the Host header.
    const url = new URL(`http://pinned.invalid:${receiver.port}/x?y=1`);
    const result = await postWebhook(
      { url, hostname: 'pinned.invalid', port: receiver.port, address: '127.0.0.1', family: 4, addresses: [{ address: '127.0.0.1', family: 4 }] },
      Buffer.from('{}'),
      { 'content-type': 'application/json' },
      2000,
    );
    expect(result.status).toBe(202);
    expect(receiver.deliveries.at(-1)?.headers.host).toBe(`pinned.invalid:${receiver.port}`);
  });
});
