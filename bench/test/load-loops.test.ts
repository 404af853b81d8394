import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runClosedLoop } from '../lib/closed-loop.js';
import { buildMultipartBody } from '../lib/multipart.js';
import { runOpenLoop } from '../lib/open-loop.js';

// A real HTTP server: answers success for file names it likes, 500 for `bad.jpg`, after 20 ms (300 for `slow.jpg`).
const seen = new Map<string, number>();
let server: Server;
let url: string;

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const name = /filename="([^"]+)"/.exec(Buffer.concat(chunks).toString('latin1'))?.[1] ?? '?';
      seen.set(name, (seen.get(name) ?? 0) + 1);
      setTimeout(() => {
        res.writeHead(name === 'bad.jpg' ? 500 : 200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ success: name !== 'bad.jpg' }));
      }, name === 'slow.jpg' ? 300 : 20);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/detect`;
});

afterAll(() => new Promise<void>((r) => server.close(() => r())));

const body = (filename: string) => buildMultipartBody({ field: 'file', filename, contentType: 'image/jpeg', data: Buffer.from(filename) });

describe('closed loop', () => {
  it('sends bodies round-robin from C clients and counts failures as errors, not latencies', async () => {
    seen.clear();
    const r = await runClosedLoop({ url, bodies: [body('a.jpg'), body('b.jpg'), body('bad.jpg')], concurrency: 4, durationMs: 600, warmupMs: 100 });
    const a = seen.get('a.jpg') ?? 0;
    const detail = JSON.stringify({ r, seen: Object.fromEntries(seen) });
    expect(a, detail).toBeGreaterThan(10);
    expect(Math.abs(a - (seen.get('b.jpg') ?? 0)), detail).toBeLessThanOrEqual(4);
    expect(r.errors, detail).toBeGreaterThan(0);
    expect(r.errorKinds['HTTP 500'], detail).toBe(r.errors);
    expect(r.requests, detail).toBeGreaterThan(0);
    // every latency measured includes the server's 20 ms
    // the server holds each answer 20 ms; timers may fire a millisecond or two early
    expect(r.latency.min, detail).toBeGreaterThanOrEqual(17);
    // 4 clients, each at most one request per 20 ms: the rate cannot exceed 200/s
    expect(r.rps, detail).toBeLessThanOrEqual(200);
  });
});

describe('open loop', () => {
  it('offers the scheduled rate regardless of answers and measures from the scheduled time', async () => {
    seen.clear();
    const r = await runOpenLoop({ url, bodies: [body('a.jpg')], rate: 100, durationMs: 1000, warmupMs: 200, arrival: 'uniform' });
    const detail = JSON.stringify(r);
    expect(r.errors, detail).toBe(0);
    // uniform at 100/s: exactly the 100 requests scheduled in the 1 s window are measured
    expect(r.requests, detail).toBe(100);
    // the server holds each answer 20 ms; timers may fire a millisecond or two early
    expect(r.latency.min, detail).toBeGreaterThanOrEqual(17);
    expect(r.sendLagP99Ms).toBeDefined();
  });

  it('counts the throughput of the window whatever the latency: a slow steady server keeps up with its arrivals', async () => {
    // 300 ms per answer at 50/s: in a steady state 50 answers/s complete, though the last 300 ms of
    // the window's own arrivals complete after it (the warm-up's arrivals make up for them).
    const r = await runOpenLoop({ url, bodies: [body('slow.jpg')], rate: 50, durationMs: 1000, warmupMs: 500, arrival: 'uniform' });
    const detail = JSON.stringify(r);
    expect(r.errors, detail).toBe(0);
    expect(r.requests, detail).toBe(50);
    expect(r.latency.min, detail).toBeGreaterThanOrEqual(297);
    expect(r.rps, detail).toBeGreaterThanOrEqual(46);
    expect(r.rps, detail).toBeLessThanOrEqual(52);
  });
});
