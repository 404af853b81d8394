import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Server } from 'node:http';
import express from 'express';
import { requestId } from '../src/middleware/request-id.js';
import { completionLevel, requestLogger } from '../src/middleware/request-logger.js';
import { captureLogger, listenOnLoopback } from './harness.js';

type Line = Record<string, unknown> & { level: number; msg: string; req?: { id?: string; url?: string }; res?: { statusCode?: number }; err?: { message?: string } };

/** An app whose routes answer 200, 404 and 503 (and an ignored /health with 500), logging at `level`. */
async function start(level: string): Promise<{ lines: Line[]; server: Server; base: string }> {
  const { lines, logger } = captureLogger(level);
  const app = express();
  app.use(requestId());
  app.use(requestLogger({ logger, ignore: (req) => req.url === '/health' }));
  app.get('/ok', (_req, res) => void res.json({ ok: true }));
  app.get('/noted', (req, res) => {
    req.log.warn({ note: 1 }, 'something to note');
    res.json({ ok: true });
  });
  app.get('/missing', (_req, res) => void res.status(404).json({ error: { code: 'not_found', message: 'no' } }));
  app.get('/broken', (_req, res) => void res.status(503).json({ error: { code: 'unavailable', message: 'later' } }));
  app.get('/health', (_req, res) => void res.status(500).end());
  return { lines: lines as Line[], ...(await listenOnLoopback(app)) };
}

const settle = () => new Promise((r) => setTimeout(r, 30));

describe('requestLogger', () => {
  let info: Awaited<ReturnType<typeof start>>;
  let debug: Awaited<ReturnType<typeof start>>;
  beforeAll(async () => {
    info = await start('info');
    debug = await start('debug');
  });
  afterAll(async () => {
    for (const s of [info, debug]) await new Promise<void>((resolve) => s.server.close(() => resolve()));
  });

  it('picks the level from the outcome', () => {
    expect(completionLevel(200)).toBe('debug');
    expect(completionLevel(304)).toBe('debug');
    expect(completionLevel(404)).toBe('info');
    expect(completionLevel(503)).toBe('error');
    expect(completionLevel(200, new Error('x'))).toBe('error');
  });

  it('writes nothing for a successful request when debug is off', async () => {
    info.lines.length = 0;
    await (await fetch(`${info.base}/ok`)).text();
    await settle();
    expect(info.lines).toEqual([]);
  });

  it('writes one debug line per successful request when debug is on, with the request and response', async () => {
    debug.lines.length = 0;
    await (await fetch(`${debug.base}/ok?token=s3cr3t`, { headers: { 'x-request-id': 'ok-1' } })).text();
    await settle();
    expect(debug.lines).toHaveLength(1);
    const [line] = debug.lines;
    expect(line).toMatchObject({ level: 20, msg: 'request completed', req: { id: 'ok-1', url: '/ok?token=[redacted]' }, res: { statusCode: 200 } });
    expect(typeof line!.responseTime).toBe('number');
  });

  it('logs rejections at info and failures as errors', async () => {
    info.lines.length = 0;
    await (await fetch(`${info.base}/missing`)).text();
    await (await fetch(`${info.base}/broken`, { headers: { 'x-request-id': 'broken-1' } })).text();
    await settle();
    expect(info.lines.map((l) => [l.level, l.msg, l.res?.statusCode])).toEqual([
      [30, 'request completed', 404],
      [50, 'request errored', 503],
    ]);
    expect(info.lines[1]).toMatchObject({ req: { id: 'broken-1' }, err: { message: 'failed with status code 503' } });
  });

  it('gives handlers req.log, whose lines carry the request', async () => {
    info.lines.length = 0;
    await (await fetch(`${info.base}/noted`, { headers: { 'x-request-id': 'noted-1', authorization: 'Bearer s3cr3t-key' } })).text();
    await settle();
    expect(info.lines).toHaveLength(1);
    expect(info.lines[0]).toMatchObject({ level: 40, msg: 'something to note', note: 1, req: { id: 'noted-1', url: '/noted' } });
    expect(JSON.stringify(info.lines)).not.toContain('s3cr3t');
  });

  it('does not log ignored paths, even when they fail', async () => {
    info.lines.length = 0;
    await (await fetch(`${info.base}/health`)).text();
    await settle();
    expect(info.lines).toEqual([]);
  });
});
