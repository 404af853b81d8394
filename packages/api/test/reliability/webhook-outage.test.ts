import { createServer, type Server } from 'node:http';
import { describe, expect, it } from 'vitest';
import {
  createKeys,
  createRedis,
  generateWebhookSecret,
  loadConfig,
  readWebhookState,
  verifyWebhook,
} from '@maskq/shared';
import { testRedisUrl } from '../../../../test-support/redis.js';
import { ApiChild, WorkerChild, fastRecoveryEnv, freePort, smallFixtures, sleep, faultTestScope } from './support.js';

const { prefix, cleanup } = faultTestScope('rel-hook');

/** A receiver that can go away (port closed: connection refused) and come back on the same port. */
class Receiver {
  readonly byWebhookId = new Map<string, { jobId: string; deliveries: number }>();
  private server: Server | undefined;
  constructor(
    readonly port: number,
    private readonly secret: string,
  ) {}

  async up(): Promise<void> {
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        try {
          const job = verifyWebhook(this.secret, req.headers, Buffer.concat(chunks)) as { id: string };
          const id = String(req.headers['webhook-id']);
          const seen = this.byWebhookId.get(id) ?? { jobId: job.id, deliveries: 0 };
          seen.deliveries++;
          this.byWebhookId.set(id, seen);
          res.writeHead(204).end();
        } catch {
          res.writeHead(401).end();
        }
      });
    });
    await new Promise<void>((resolve) => server.listen(this.port, '127.0.0.1', resolve));
    this.server = server;
  }

  async down(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  jobIds(): Set<string> {
    return new Set([...this.byWebhookId.values()].map((v) => v.jobId));
  }
}

describe('fault: a webhook receiver down for a while', () => {
  it('deliveries are retried and all arrive once it is back', async () => {
    const secret = generateWebhookSecret();
    const env = {
      REDIS_URL: testRedisUrl,
      QUEUE_PREFIX: prefix,
      WEBHOOK_SECRET: secret,
      WEBHOOK_ALLOW_PRIVATE: 'true',
      WEBHOOK_BACKOFF_BASE_MS: '50',
      WEBHOOK_MAX_ATTEMPTS: '15',
      WEBHOOK_TIMEOUT_MS: '1000',
      ...fastRecoveryEnv,
    };
    const config = loadConfig(env);
    const keys = createKeys(prefix);
    const receiver = new Receiver(await freePort(), secret);
    cleanup.push(() => receiver.down());
    await receiver.up();

    const api = new ApiChild(await freePort(), env);
    cleanup.push(() => api.dispose());
    const worker = new WorkerChild(env);
    cleanup.push(() => worker.dispose());

    // The real path: the worker enqueues each job's webhook, its dispatcher (WEBHOOK_SECRET set) delivers.
    const redis = createRedis(config);
    cleanup.push(async () => {
      redis.disconnect();
    });
    await Promise.all([api.ready(), worker.ready()]);

    const fixtures = smallFixtures();
    const ids: string[] = [];
    const submit = async (n: number) => {
      for (let i = 0; i < n; i++) {
        const f = fixtures[ids.length % fixtures.length]!;
        const body = new FormData();
        body.append('image', new Blob([f.bytes], { type: f.type }), f.name);
        body.append('callback_url', `http://127.0.0.1:${receiver.port}/hooks`);
        body.append('callback_events', 'completed');
        const res = await fetch(`${api.url}/v1/jobs`, { method: 'POST', body, signal: AbortSignal.timeout(5000) });
        expect(res.status).toBe(202);
        ids.push(((await res.json()) as { id: string }).id);
      }
    };

    await submit(5);
    const waitDelivered = async (n: number, timeoutMs: number) => {
      const until = Date.now() + timeoutMs;
      while (receiver.jobIds().size < n) {
        if (Date.now() > until) {
          const states = await Promise.all(ids.map((id) => readWebhookState(redis, keys, id)));
          throw new Error(`${receiver.jobIds().size} of ${n} webhooks arrived; states ${JSON.stringify(states)}`);
        }
        await sleep(50);
      }
    };
    await waitDelivered(5, 30_000);

    const outageStart = Date.now();
    await receiver.down();
    await submit(10);
    await sleep(5000 - (Date.now() - outageStart));
    // Deliveries were attempted and failed while it was down.
    const pendingStates = await Promise.all(ids.slice(5).map((id) => readWebhookState(redis, keys, id)));
    const failedAttempts = pendingStates.filter((s) => s?.status === 'pending' && s.attempts >= 1).length;
    await receiver.up();
    const outageMs = Date.now() - outageStart;
    await submit(5);

    await waitDelivered(ids.length, 60_000);
    const deliveredAfter = Date.now() - outageStart - outageMs;
    const states = await Promise.all(ids.map((id) => readWebhookState(redis, keys, id)));
    const attempts = states.map((s) => s?.attempts ?? 0);
    console.log(
      `[webhook-outage] receiver down ${outageMs} ms; jobs ${ids.length}; webhooks pending with failed attempts at the end of the outage ${failedAttempts}; ` +
        `all delivered ${deliveredAfter} ms after it came back; attempts per webhook max ${Math.max(...attempts)}, total ${attempts.reduce((a, b) => a + b, 0)}`,
    );

    expect(receiver.jobIds()).toEqual(new Set(ids));
    expect(receiver.byWebhookId.size).toBe(ids.length);
    expect(failedAttempts).toBeGreaterThan(0);
    expect(states.every((s) => s?.status === 'delivered')).toBe(true);
    expect(Math.max(...attempts)).toBeGreaterThan(1);
  }, 120_000);
});
