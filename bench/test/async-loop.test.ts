import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runAsyncClosedLoop } from '../lib/async-loop.js';
import { buildMultipartBody } from '../lib/multipart.js';

// A real HTTP server speaking the job API's wire protocol: 202 + id, then SSE with the current
// state first, a final state after 30 ms, and the stream closing. `bad.jpg` jobs fail.
let server: Server;
let baseUrl: string;
let submitted = 0;

beforeAll(async () => {
  server = createServer((req, res) => {
    if (req.method === 'POST' && req.url === '/v1/jobs') {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const bad = Buffer.concat(chunks).includes('bad.jpg');
        const id = `${bad ? 'bad' : 'ok'}-${++submitted}`;
        res.writeHead(202, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ id, status: 'queued' }));
      });
      return;
    }
    const match = /^\/v1\/jobs\/([^/]+)\/events$/.exec(req.url ?? '');
    if (!match) {
      res.writeHead(404).end();
      return;
    }
    const id = match[1] as string;
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.write(`event: queued\ndata: ${JSON.stringify({ id, status: 'queued' })}\n\n: heartbeat\n\n`);
    setTimeout(() => {
      const status = id.startsWith('bad') ? 'failed' : 'completed';
      res.end(`event: ${status}\ndata: ${JSON.stringify({ id, status })}\n\n`);
    }, 30);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(() => new Promise<void>((r) => server.close(() => r())));

const body = (filename: string) => buildMultipartBody({ field: 'file', filename, contentType: 'image/jpeg', data: Buffer.from('x') });

describe('async closed loop (POST /v1/jobs + SSE)', () => {
  it('measures submit → final state seen, and counts failed jobs as errors', async () => {
    const r = await runAsyncClosedLoop({ baseUrl, bodies: [body('a.jpg'), body('bad.jpg')], concurrency: 2, durationMs: 800, warmupMs: 100 });
    expect(r.requests).toBeGreaterThan(3);
    expect(r.errors).toBeGreaterThan(0);
    expect(r.errorKinds['job failed']).toBe(r.errors);
    expect(r.latency.min).toBeGreaterThanOrEqual(29);
  });
});
