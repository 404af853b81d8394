import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Server } from 'node:http';
import express from 'express';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { ConfigError, loadConfig } from '@maskq/shared';
import { mountQueueDashboard } from '../src/admin/queue-dashboard.js';
import { parseBasicAuth } from '../src/admin/basic-auth.js';
import { deleteKeysUnder, testRedisUrl, uniquePrefix } from '../../../test-support/redis.js';
import { captureLogger, listenOnLoopback as listen } from './harness.js';

const prefix = uniquePrefix('board');
const connection = { url: testRedisUrl };
const detect = new Queue('detect', { connection, prefix: `{${prefix}}` });
const webhooks = new Queue('webhooks', { connection, prefix: `{${prefix}}` });
const user = 'ops';
const password = 'correct horse battery';

function basic(u: string, p: string): string {
  return `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}`;
}

const servers: Server[] = [];
afterAll(async () => {
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  await Promise.all([detect.close(), webhooks.close()]);
  const redis = new Redis(testRedisUrl);
  await deleteKeysUnder(redis, prefix);
  redis.disconnect();
});

describe('queue dashboard with ADMIN_USER/ADMIN_PASSWORD', () => {
  let base: string;
  beforeAll(async () => {
    const app = express();
    const { logger } = captureLogger();
    const board = mountQueueDashboard(app, { config: { ADMIN_USER: user, ADMIN_PASSWORD: password }, queues: [detect, webhooks], logger });
    expect(board.enabled).toBe(true);
    const started = await listen(app);
    servers.push(started.server);
    base = started.base;
  });

  it('answers 401 with WWW-Authenticate without credentials, for the page and its API', async () => {
    for (const path of ['/admin/queues', '/admin/queues/api/queues']) {
      const res = await fetch(`${base}${path}`);
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toMatch(/^Basic realm="maskq queues"/);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('unauthorized');
    }
  });

  it('answers 401 for a wrong password, a wrong user and a malformed header', async () => {
    for (const authorization of [basic(user, 'wrong password'), basic('root', password), basic(user, `${password}x`), 'Basic !!!', `Bearer ${password}`]) {
      const res = await fetch(`${base}/admin/queues/api/queues`, { headers: { authorization } });
      expect(res.status, authorization).toBe(401);
      expect(res.headers.get('www-authenticate')).toMatch(/^Basic /);
    }
  });

  it('serves the dashboard and lists both queues with the right credentials', async () => {
    const page = await fetch(`${base}/admin/queues`, { headers: { authorization: basic(user, password) } });
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/text\/html/);
    const api = await fetch(`${base}/admin/queues/api/queues`, { headers: { authorization: basic(user, password) } });
    expect(api.status).toBe(200);
    const body = (await api.json()) as { queues: Array<{ name: string }> };
    expect(body.queues.map((q) => q.name).sort()).toEqual(['detect', 'webhooks']);
  });
});

describe('queue dashboard without credentials configured', () => {
  it('is not mounted (404) and the log says so', async () => {
    const app = express();
    const { lines, logger } = captureLogger();
    const board = mountQueueDashboard(app, { config: { ADMIN_USER: undefined, ADMIN_PASSWORD: undefined }, queues: [detect, webhooks], logger });
    app.use((_req: express.Request, res: express.Response) => void res.status(404).json({ error: { code: 'not_found', message: 'no route' } }));
    const { server, base } = await listen(app);
    servers.push(server);
    expect(board.enabled).toBe(false);
    for (const path of ['/admin/queues', '/admin/queues/api/queues']) {
      const res = await fetch(`${base}${path}`, { headers: { authorization: basic(user, password) } });
      expect(res.status).toBe(404);
    }
    expect(lines.some((l) => typeof l.msg === 'string' && /queue dashboard disabled/.test(l.msg))).toBe(true);
  });

  it('config rejects ADMIN_USER without ADMIN_PASSWORD and short passwords', () => {
    expect(() => loadConfig({ ADMIN_USER: 'ops' })).toThrow(ConfigError);
    expect(() => loadConfig({ ADMIN_PASSWORD: 'long enough pw' })).toThrow(/ADMIN_PASSWORD/);
    expect(() => loadConfig({ ADMIN_USER: 'ops', ADMIN_PASSWORD: 'short' })).toThrow(/ADMIN_PASSWORD/);
    const config = loadConfig({ ADMIN_USER: 'ops', ADMIN_PASSWORD: password });
    expect(config.ADMIN_USER).toBe('ops');
    expect(loadConfig({}).ADMIN_USER).toBeUndefined();
  });
});

describe('parseBasicAuth', () => {
  it('splits at the first colon so passwords may contain colons', () => {
    expect(parseBasicAuth(basic('ops', 'a:b:c'))).toEqual({ user: 'ops', password: 'a:b:c' });
    expect(parseBasicAuth(`Basic ${Buffer.from('no-colon').toString('base64')}`)).toBeUndefined();
    expect(parseBasicAuth(undefined)).toBeUndefined();
  });
});
