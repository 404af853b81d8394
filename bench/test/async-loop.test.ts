import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runAsyncClosedLoop, runAsyncOpenLoop } from '../lib/async-loop.js';
import { buildMultipartBody, buildMultipartFiles } from '../lib/multipart.js';

// A real HTTP server speaking the job API's wire protocol: 202 + id, then SSE with the current
// state first, a final state after 30 ms, and the stream closing. `bad.jpg` jobs fail.
let server: Server;
let baseUrl: string;
let submitted = 0;
let batchesSubmitted = 0;
/** Open GET /v1/events streams: every job's final state goes to each, 30 ms after its submission. */
const streams = new Set<ServerResponse>();

beforeAll(async () => {
  server = createServer((req, res) => {
    if (req.method === 'POST' && req.url === '/v1/jobs') {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const bad = Buffer.concat(chunks).includes('bad.jpg');
        const id = `${bad ? 'bad' : 'ok'}-${++submitted}`;
        const finish = () => {
          const status = bad ? 'failed' : 'completed';
          for (const stream of streams) stream.write(`event: ${status}\ndata: ${JSON.stringify({ id, status })}\n\n`);
        };
        const accept = () => {
          res.writeHead(202, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ id, status: 'queued' }));
        };
        // Every third job finishes before its 202 is sent: the client must not miss those.
        if (streams.size > 0 && submitted % 3 === 0) {
          finish();
          setTimeout(accept, 20);
        } else {
          accept();
          setTimeout(finish, 30);
        }
      });
      return;
    }
    if (req.method === 'POST' && req.url === '/v1/jobs/batch') {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        batchesSubmitted++;
        // One job per file part; a part named bad.jpg fails.
        const names = [...Buffer.concat(chunks).toString('latin1').matchAll(/filename="([^"]+)"/g)].map((m) => m[1] as string);
        const jobs = names.map((name, index) => ({ index, id: `${name === 'bad.jpg' ? 'bad' : 'ok'}-${++submitted}`, status: 'queued' }));
        res.writeHead(202, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ jobs }));
        setTimeout(() => {
          for (const { id } of jobs) {
            const status = id.startsWith('bad') ? 'failed' : 'completed';
            for (const stream of streams) stream.write(`event: ${status}\ndata: ${JSON.stringify({ id, status })}\n\n`);
          }
        }, 30);
      });
      return;
    }
    if (req.url === '/v1/events') {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(': heartbeat\n\n');
      streams.add(res);
      res.on('close', () => streams.delete(res));
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

describe('async open loop with one event stream (GET /v1/events)', () => {
  it('resolves each job from the shared stream, early finishes included, and counts failed jobs as errors', async () => {
    const before = submitted;
    const r = await runAsyncOpenLoop({ baseUrl, bodies: [body('a.jpg'), body('bad.jpg')], rate: 60, durationMs: 800, warmupMs: 100, events: 'stream', timeoutMs: 2000 });
    expect(submitted - before).toBeGreaterThan(20);
    expect(r.requests).toBeGreaterThan(20);
    expect(r.errors).toBeGreaterThan(0);
    // Every error is a failed job: none timed out waiting for an event the stream had already sent.
    expect(r.errorKinds['job failed']).toBe(r.errors);
    // The stream is closed once the run is over.
    for (let i = 0; i < 50 && streams.size > 0; i++) await new Promise((r) => setTimeout(r, 20));
    expect(streams.size).toBe(0);
  });
});

describe('async open loop with batch submissions (POST /v1/jobs/batch)', () => {
  const file = (filename: string) => ({ field: 'images', filename, contentType: 'image/jpeg', data: Buffer.from('x') });
  const batch = (...names: string[]) => buildMultipartFiles(names.map(file));

  it('sends rate ÷ images requests/s, waits for every job of each, and reports per image', async () => {
    const [jobsBefore, batchesBefore] = [submitted, batchesSubmitted];
    const r = await runAsyncOpenLoop({ baseUrl, bodies: [batch('a.jpg', 'b.jpg', 'c.jpg', 'd.jpg')], rate: 120, durationMs: 1000, warmupMs: 0, events: 'stream', imagesPerRequest: 4, timeoutMs: 2000 });
    const batches = batchesSubmitted - batchesBefore;
    // 120 images/s in batches of 4: ~30 requests in the second, never one per image.
    expect(batches).toBeGreaterThan(15);
    expect(batches).toBeLessThan(50);
    expect(submitted - jobsBefore).toBe(4 * batches);
    expect(r.imagesPerRequest).toBe(4);
    expect(r.errors).toBe(0);
    expect(r.requests % 4).toBe(0);
    expect(r.requests).toBe(4 * batches);
    expect(r.offeredRate).toBe(120);
    expect(r.arrivalRate! / 4).toBeCloseTo(batches, 0);
    // A submission is done when the last of its jobs is: not before the fake server's 30 ms (timers may fire ~1 ms early).
    expect(r.latency.min).toBeGreaterThanOrEqual(27);
  });

  it('counts a batch with a failed job as failed, and refuses batches without the shared stream', async () => {
    const r = await runAsyncOpenLoop({ baseUrl, bodies: [batch('a.jpg', 'bad.jpg')], rate: 40, durationMs: 500, warmupMs: 0, events: 'stream', imagesPerRequest: 2, timeoutMs: 2000 });
    expect(r.requests).toBe(0);
    expect(r.errors).toBeGreaterThan(0);
    expect(r.errorKinds['job failed']).toBe(r.errors / 2);
    await expect(runAsyncOpenLoop({ baseUrl, bodies: [batch('a.jpg')], rate: 10, durationMs: 100, warmupMs: 0, imagesPerRequest: 2 })).rejects.toThrow(/event stream/);
  });
});
