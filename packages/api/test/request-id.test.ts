import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Server } from 'node:http';
import express from 'express';
import { redactUrl } from '@maskq/shared';
import { getRequestId, requestId } from '../src/middleware/request-id.js';
import { requestLogger } from '../src/middleware/request-logger.js';
import { captureLogger, listenOnLoopback } from './harness.js';

// debug: successful requests end with a debug line
const { lines, logger } = captureLogger('debug');

let server: Server;
let base: string;

beforeAll(async () => {
  const app = express();
  app.use(requestId());
  app.use(requestLogger({ logger }));
  app.get('/v1/jobs/:id', (req, res) => {
    req.log.info({ jobId: req.params.id }, 'looked up job');
    res.json({ requestId: getRequestId(req) });
  });
  ({ server, base } = await listenOnLoopback(app));
});

afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('requestId middleware', () => {
  it('keeps a sane X-Request-Id, echoes it, and every log line of the request carries it', async () => {
    const res = await fetch(`${base}/v1/jobs/j1`, { headers: { 'x-request-id': 'cam-42.frame_7' } });
    expect(res.headers.get('x-request-id')).toBe('cam-42.frame_7');
    expect(await res.json()).toEqual({ requestId: 'cam-42.frame_7' });
    await new Promise((r) => setTimeout(r, 20));
    const mine = lines.filter((l) => (l.req as { id?: string } | undefined)?.id === 'cam-42.frame_7');
    expect(mine.map((l) => l.msg)).toEqual(expect.arrayContaining(['looked up job', 'request completed']));
  });

  it.each([
    ['too long', 'a'.repeat(129)],
    ['bad characters', 'abc def<script>'],
    ['log injection', 'abc\\n{"level":60}'],
  ])('replaces an id with %s by a new UUID', async (_why, incoming) => {
    const res = await fetch(`${base}/v1/jobs/j2`, { headers: { 'x-request-id': incoming } });
    const echoed = res.headers.get('x-request-id') ?? '';
    expect(echoed).toMatch(uuid);
    expect(((await res.json()) as { requestId: string }).requestId).toBe(echoed);
  });

  it('gives each request without a header its own UUID', async () => {
    const a = (await fetch(`${base}/v1/jobs/j3`)).headers.get('x-request-id');
    const b = (await fetch(`${base}/v1/jobs/j3`)).headers.get('x-request-id');
    expect(a).toMatch(uuid);
    expect(b).toMatch(uuid);
    expect(a).not.toBe(b);
  });
});

describe('log redaction', () => {
  it('never writes authorization headers, API keys, cookies or query tokens', async () => {
    lines.length = 0;
    await fetch(`${base}/v1/jobs/j4?token=s3cr3t-token&format=json&sig=s3cr3t-sig`, {
      headers: { authorization: 'Bearer s3cr3t-bearer', 'x-api-key': 's3cr3t-key', cookie: 'session=s3cr3t-cookie' },
    });
    await new Promise((r) => setTimeout(r, 20));
    const text = JSON.stringify(lines);
    expect(lines.length).toBeGreaterThan(0);
    expect(text).not.toMatch(/s3cr3t/);
    const completed = lines.find((l) => l.msg === 'request completed') as { req: { url: string; headers: Record<string, string> } };
    expect(completed.req.url).toBe('/v1/jobs/j4?token=[redacted]&format=json&sig=[redacted]');
    expect(completed.req.headers.authorization).toBe('[redacted]');
  });

  it('redacts secrets in config and image bytes in file objects', () => {
    lines.length = 0;
    logger.info(
      { config: { ADMIN_PASSWORD: 'hunter2-admin', REDIS_URL: 'redis://:pw@host', PORT: 8000 }, file: { buffer: Buffer.from('JPEGBYTES'), size: 9 } },
      'start',
    );
    const text = JSON.stringify(lines);
    expect(text).not.toMatch(/hunter2|:pw@|JPEGBYTES|SlBFR0JZVEVT/);
    expect(text).toMatch(/"PORT":8000/);
  });

  it('redactUrl leaves URLs without secret parameters alone', () => {
    expect(redactUrl('/v1/jobs/1?wait=5')).toBe('/v1/jobs/1?wait=5');
    expect(redactUrl('/v1/jobs/1')).toBe('/v1/jobs/1');
    expect(redactUrl('/x?API_KEY=abc&b')).toBe('/x?API_KEY=[redacted]&b');
  });
});
