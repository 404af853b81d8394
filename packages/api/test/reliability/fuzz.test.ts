/**
 * Bad input, fuzzed: at least 1,000 malformed requests against a real API and a real worker
 * (child processes). Seeded (FUZZ_SEED=... reproduces a run), bounded (per-request timeout).
 * The table of outcomes goes to the console and to artifacts/fuzz-report.json.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { createDetectQueue, createKeys, createRedis, loadConfig } from '@maskq/shared';
import { fixtureImagesDir, repoRoot } from '../../../../test-support/paths.js';
import { keysUnder, testRedisUrl } from '../../../../test-support/redis.js';
import { ApiChild, WorkerChild, freePort, sleep, faultTestScope } from './support.js';

const seed = Number(process.env.FUZZ_SEED ?? (Date.now() >>> 0));
const total = Number(process.env.FUZZ_REQUESTS ?? 1000);
const maxImageBytes = 256 * 1024;
const maxMetadataBytes = 1024;
const requestTimeoutMs = 10_000;

const { prefix, inspect, cleanup } = faultTestScope('rel-fuzz');

/** mulberry32: a tiny seeded PRNG, so a failing run can be replayed with FUZZ_SEED. */
function mulberry32(a: number): () => number {
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const rand = mulberry32(seed);
const int = (n: number) => Math.floor(rand() * n);
const pick = <T>(items: readonly T[]): T => items[int(items.length)]!;
const bytes = (n: number) => Buffer.from(Array.from({ length: n }, () => int(256)));

const jpeg = readFileSync(join(fixtureImagesDir, 'mask_01.jpg'));
const jpegs = ['mask_02.jpg', 'nomask_06.jpg', 'mask_06.jpg'].map((n) => readFileSync(join(fixtureImagesDir, n)));
const png = readFileSync(join(fixtureImagesDir, 'mask_08.png'));

const crcTable = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(buf: Buffer): number {
  let c = 0xffffffff;
  for (const b of buf) c = crcTable[(c ^ b) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
function pngChunk(type: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
}
/** A well-formed PNG header claiming width x height, with a tiny IDAT: a decompression bomb's shape. */
function pngBomb(width: number, height: number): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 2, 0, 0, 0], 8);
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', ihdr),
    pngChunk('IDAT', deflateSync(Buffer.alloc(4096))),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}
/** A real JPEG whose SOF frame header is rewritten to claim width x height. */
function jpegBomb(width: number, height: number): Buffer {
  const out = Buffer.from(jpeg);
  for (let i = 2; i + 9 < out.length; ) {
    if (out[i] !== 0xff) break;
    const marker = out[i + 1]!;
    const len = out.readUInt16BE(i + 2);
    if (marker >= 0xc0 && marker <= 0xc2) {
      out.writeUInt16BE(height, i + 5);
      out.writeUInt16BE(width, i + 7);
      return out;
    }
    i += 2 + len;
  }
  throw new Error('no SOF in fixture');
}
/** A WebP container (valid RIFF/WEBP magic) whose VP8 payload is garbage or cut short. */
function brokenWebp(): Buffer {
  const payload = bytes(int(2000));
  const riff = Buffer.alloc(20);
  riff.write('RIFF', 0, 'ascii');
  riff.writeUInt32LE(12 + payload.length, 4);
  riff.write('WEBPVP8 ', 8, 'ascii');
  riff.writeUInt32LE(payload.length + int(5000), 16);
  return Buffer.concat([riff, payload]);
}
const cut = (buf: Buffer) => buf.subarray(0, int(buf.length - 1));

const batchEntries: Record<string, number> = {};

interface Outcome {
  kind: string;
  status: number | 'aborted' | 'timeout' | 'error';
  code?: string;
  jobId?: string;
  /** what became of an accepted job */
  job?: string;
}

interface Request {
  kind: string;
  path?: string;
  headers?: Record<string, string>;
  body?: Buffer | FormData;
  /** raw socket: send this much, then destroy */
  raw?: { head: string; body: Buffer };
}

function multipart(parts: Array<{ name: string; data: Buffer | string; filename?: string; type?: string }>): FormData {
  const form = new FormData();
  for (const p of parts) {
    if (typeof p.data === 'string' && p.filename === undefined) form.append(p.name, p.data);
    else form.append(p.name, new Blob([p.data], { type: p.type ?? 'application/octet-stream' }), p.filename ?? 'f.bin');
  }
  return form;
}

const imageTypes = ['image/jpeg', 'image/png', 'image/webp', 'image/gif', 'application/octet-stream'];

/** One malformed request, chosen by the PRNG. */
function generate(): Request {
  const kind = pick([
    'random-bytes-raw',
    'random-bytes-multipart',
    'truncated-jpeg',
    'truncated-png',
    'broken-webp',
    'png-bomb',
    'jpeg-bomb',
    'empty-raw',
    'empty-multipart',
    'wrong-field',
    'two-files',
    'huge-metadata',
    'non-json-metadata',
    'metadata-header-garbage',
    'oversized-raw',
    'oversized-multipart',
    'slow-upload-cut',
    'bad-boundary',
    'wrong-content-type',
    'batch-mixed',
  ] as const);
  const asRaw = rand() < 0.5;
  const image = (data: Buffer, type: string): Request =>
    asRaw ? { kind, headers: { 'content-type': type }, body: data } : { kind, body: multipart([{ name: 'image', data, filename: 'x', type }]) };
  switch (kind) {
    case 'random-bytes-raw':
      return { kind, headers: { 'content-type': pick(imageTypes) }, body: bytes(1 + int(4096)) };
    case 'random-bytes-multipart':
      return { kind, body: multipart([{ name: 'image', data: bytes(1 + int(4096)), filename: 'r.jpg', type: pick(imageTypes) }]) };
    case 'truncated-jpeg':
      return image(cut(pick(jpegs)), 'image/jpeg');
    case 'truncated-png':
      return image(cut(png), 'image/png');
    case 'broken-webp':
      return image(brokenWebp(), 'image/webp');
    case 'png-bomb':
      return image(pngBomb(pick([100_000, 65_535, 30_000]), pick([100_000, 65_535, 30_000])), 'image/png');
    case 'jpeg-bomb':
      return image(jpegBomb(65_000, 65_000 - int(1000)), 'image/jpeg');
    case 'empty-raw':
      return { kind, headers: { 'content-type': pick(imageTypes) }, body: Buffer.alloc(0) };
    case 'empty-multipart':
      return { kind, body: multipart([{ name: 'image', data: Buffer.alloc(0), filename: 'e.jpg', type: 'image/jpeg' }]) };
    case 'wrong-field':
      return { kind, body: multipart([{ name: pick(['file', 'img', 'images', 'Image', 'image[]']), data: jpeg, filename: 'a.jpg', type: 'image/jpeg' }]) };
    case 'two-files':
      return { kind, body: multipart([0, 1].map(() => ({ name: 'image', data: jpeg, filename: 'a.jpg', type: 'image/jpeg' }))) };
    case 'huge-metadata':
      return {
        kind,
        body: multipart([
          { name: 'image', data: jpeg, filename: 'a.jpg', type: 'image/jpeg' },
          { name: 'metadata', data: JSON.stringify({ blob: 'x'.repeat(maxMetadataBytes + int(200_000)) }) },
        ]),
      };
    case 'non-json-metadata':
      return {
        kind,
        body: multipart([
          { name: 'image', data: jpeg, filename: 'a.jpg', type: 'image/jpeg' },
          { name: 'metadata', data: pick(['{not json', '[1,2,3]', '"a string"', 'null', '42', '{"a":', bytes(64).toString('latin1')]) },
        ]),
      };
    case 'metadata-header-garbage':
      return { kind, headers: { 'content-type': 'image/jpeg', 'x-maskq-metadata': pick(['{nope', '[]', 'true', `{"k":"${'v'.repeat(5000)}"}`]) }, body: jpeg };
    case 'oversized-raw':
      return { kind, headers: { 'content-type': 'image/jpeg' }, body: Buffer.concat([jpeg, bytes(maxImageBytes)]) };
    case 'oversized-multipart':
      return { kind, body: multipart([{ name: 'image', data: Buffer.concat([jpeg, bytes(maxImageBytes)]), filename: 'big.jpg', type: 'image/jpeg' }]) };
    case 'slow-upload-cut': {
      const body = pick(jpegs);
      const head = asRaw
        ? `POST /v1/jobs HTTP/1.1\r\nHost: x\r\nContent-Type: image/jpeg\r\nContent-Length: ${body.length}\r\n\r\n`
        : `POST /v1/jobs HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=zzz\r\nContent-Length: ${body.length + 200}\r\n\r\n--zzz\r\nContent-Disposition: form-data; name="image"; filename="a.jpg"\r\nContent-Type: image/jpeg\r\n\r\n`;
      return { kind, raw: { head, body: cut(body) } };
    }
    case 'bad-boundary': {
      const variant = int(4);
      const part = Buffer.concat([Buffer.from('--real\r\nContent-Disposition: form-data; name="image"; filename="a.jpg"\r\nContent-Type: image/jpeg\r\n\r\n'), jpeg]);
      const type = ['multipart/form-data', 'multipart/form-data; boundary=other', 'multipart/form-data; boundary=', 'multipart/form-data; boundary=real'][variant]!;
      // variant 3: the right boundary but no closing delimiter (the body just stops)
      return { kind, headers: { 'content-type': type }, body: variant === 3 ? part : Buffer.concat([part, Buffer.from('\r\n--real--\r\n')]) };
    }
    case 'wrong-content-type':
      return {
        kind,
        headers: { 'content-type': pick(['text/plain', 'application/json', 'application/x-www-form-urlencoded', 'text/html', 'video/mp4', 'foo']) },
        body: rand() < 0.5 ? jpeg : Buffer.from('{"image":"aGVsbG8="}'),
      };
    case 'batch-mixed':
      return {
        kind,
        path: '/v1/jobs/batch',
        body: multipart(
          Array.from({ length: 1 + int(4) }, () => ({
            name: 'images',
            data: pick([Buffer.alloc(0), bytes(300), cut(pick(jpegs)), Buffer.concat([jpeg, bytes(maxImageBytes)])]),
            filename: 'b.jpg',
            type: 'image/jpeg',
          })),
        ),
      };
  }
}

/** Sends headers and part of the body over a raw socket, then cuts the connection. */
function cutUpload(port: number, raw: { head: string; body: Buffer }): Promise<Outcome['status']> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1', () => {
      socket.write(raw.head);
      socket.write(raw.body.subarray(0, raw.body.length >> 1), () => setTimeout(() => socket.destroy(), 20));
    });
    let answered = '';
    socket.on('data', (d: Buffer) => (answered += d.toString('latin1')));
    socket.on('error', () => undefined);
    // The server may answer early (e.g. it saw enough to refuse); otherwise nothing comes back.
    socket.on('close', () => resolve(answered.startsWith('HTTP/1.1 5') ? 500 : 'aborted'));
  });
}

async function send(url: string, port: number, req: Request): Promise<Outcome> {
  if (req.raw) return { kind: req.kind, status: await cutUpload(port, req.raw) };
  try {
    const res = await fetch(`${url}${req.path ?? '/v1/jobs'}`, {
      method: 'POST',
      headers: req.headers,
      body: req.body,
      signal: AbortSignal.timeout(requestTimeoutMs),
    });
    const text = await res.text();
    // No stack trace, no HTML, ever.
    if (/<html|<!DOCTYPE|\n\s+at /i.test(text)) throw new Error(`${req.kind}: body looks like a stack trace or HTML: ${text.slice(0, 300)}`);
    const json = JSON.parse(text) as { id?: string; error?: { code?: unknown; message?: unknown }; jobs?: Array<{ id?: string; error?: { code: string } }> };
    if (res.status >= 400) {
      if (typeof json.error?.code !== 'string' || typeof json.error.message !== 'string') throw new Error(`${req.kind}: ${res.status} without a typed error: ${text.slice(0, 300)}`);
      return { kind: req.kind, status: res.status, code: json.error.code };
    }
    if (json.jobs) {
      // A batch: each entry is a job or its own typed error (counted in their own table).
      for (const j of json.jobs) {
        if (j.error && (typeof j.error.code !== 'string' || typeof (j.error as { message?: unknown }).message !== 'string')) throw new Error(`${req.kind}: untyped entry ${text.slice(0, 300)}`);
        const key = j.error ? j.error.code : 'job';
        batchEntries[key] = (batchEntries[key] ?? 0) + 1;
      }
      return { kind: req.kind, status: res.status, code: 'batch', jobId: json.jobs.filter((j) => j.id).map((j) => j.id).join(',') || undefined };
    }
    return { kind: req.kind, status: res.status, jobId: json.id };
  } catch (err) {
    if ((err as Error).name === 'TimeoutError') return { kind: req.kind, status: 'timeout' };
    if (err instanceof SyntaxError) return { kind: req.kind, status: 'error', code: 'non-json body' };
    if ((err as Error).message.includes(req.kind)) throw err;
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    return { kind: req.kind, status: 'error', code: `${(err as Error).message}: ${cause?.code ?? cause?.message ?? ''}` };
  }
}

describe('bad input: fuzzing the real API and worker', () => {
  it(`${total} malformed requests: typed 4xx or a failed job, never a 5xx, a hang or a leak`, async () => {
    console.log(`[fuzz] seed ${seed} (FUZZ_SEED=${seed} reproduces this run), ${total} requests`);
    const env = {
      REDIS_URL: testRedisUrl,
      QUEUE_PREFIX: prefix,
      MAX_IMAGE_BYTES: String(maxImageBytes),
      MAX_METADATA_BYTES: String(maxMetadataBytes),
      MAX_BATCH_FILES: '8',
      BATCH_MAX_SIZE: '8',
    };
    // Built before anything connects: generating blocks the event loop for a few seconds, long
    // enough for the server to close an idle keep-alive socket the client has not yet noticed.
    const requests = Array.from({ length: total }, generate);
    const port = await freePort();
    const api = new ApiChild(port, env);
    cleanup.push(() => api.dispose());
    const worker = new WorkerChild(env);
    cleanup.push(() => worker.dispose());
    await Promise.all([api.ready(), worker.ready()]);

    const outcomes: Outcome[] = [];
    const concurrency = Number(process.env.FUZZ_CONCURRENCY ?? 4);
    let next = 0;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < requests.length) outcomes.push(await send(api.url, port, requests[next++]!));
      }),
    );

    // What became of every accepted job.
    const config = loadConfig(env);
    const connection = createRedis(config, { blocking: true });
    const queue = createDetectQueue({ connection, keys: createKeys(prefix), config });
    cleanup.push(async () => {
      await queue.close();
      connection.disconnect();
    });
    const jobOf = new Map<string, Outcome>();
    for (const o of outcomes) for (const id of o.jobId?.split(',') ?? []) jobOf.set(id, o);
    const until = Date.now() + 60_000;
    for (;;) {
      const states = await Promise.all([...jobOf.keys()].map((id) => queue.getJobState(id)));
      if (states.every((s) => s === 'completed' || s === 'failed') || Date.now() > until) break;
      await sleep(250);
    }
    const jobCodes = new Map<string, number>();
    for (const [id, outcome] of jobOf) {
      const job = await queue.getJob(id);
      const state = job ? await job.getState() : 'missing';
      const code = state === 'failed' ? (job!.failedReason ?? '').split(':')[0] : state;
      if (outcome.kind !== 'batch-mixed') outcome.job = code;
      jobCodes.set(code ?? '', (jobCodes.get(code ?? '') ?? 0) + 1);
    }

    // The table: outcome (status + error code [+ what the job became]) by count, and by kind.
    const table: Record<string, number> = {};
    const byKind: Record<string, Record<string, number>> = {};
    for (const o of outcomes) {
      const key = [String(o.status), o.code, o.job ? `job ${o.job}` : undefined].filter(Boolean).join(' ');
      table[key] = (table[key] ?? 0) + 1;
      (byKind[o.kind] ??= {})[key] = (byKind[o.kind]![key] ?? 0) + 1;
    }
    const rows = Object.entries(table).sort((a, b) => b[1] - a[1]);
    console.log(
      `[fuzz] outcomes (seed ${seed}):\n${rows.map(([k, n]) => `  ${String(n).padStart(5)}  ${k}`).join('\n')}\n` +
        `[fuzz] batch entries: ${JSON.stringify(batchEntries)}; accepted jobs ended: ${JSON.stringify(Object.fromEntries(jobCodes))}`,
    );
    mkdirSync(join(repoRoot, 'artifacts'), { recursive: true });
    writeFileSync(
      join(repoRoot, 'artifacts', 'fuzz-report.json'),
      JSON.stringify({ seed, requests: total, maxImageBytes, outcomes: Object.fromEntries(rows), batchEntries, jobs: Object.fromEntries(jobCodes), byKind }, null, 2),
    );

    expect(outcomes).toHaveLength(total);
    // No 5xx, no hang, no transport error: every request got an answer or was cut by us.
    expect(outcomes.filter((o) => typeof o.status !== 'number' && o.status !== 'aborted')).toEqual([]);
    expect(outcomes.filter((o) => typeof o.status === 'number' && o.status >= 500)).toEqual([]);
    // Cut uploads are the only requests without an answer.
    expect(outcomes.filter((o) => o.status === 'aborted' && o.kind !== 'slow-upload-cut')).toEqual([]);
    // Every accepted job ended: failed with an image error code, or completed (a cut image the
    // decoder could still read, which is a correct answer too). None is left waiting.
    const allowedJobEnds = new Set(['invalid_image', 'unsupported_format', 'image_too_large', 'completed']);
    expect([...jobCodes.keys()].filter((c) => !allowedJobEnds.has(c))).toEqual([]);
    // Bombs never complete.
    expect(outcomes.filter((o) => (o.kind === 'png-bomb' || o.kind === 'jpeg-bomb') && (o.status === 202 ? o.job === 'completed' : false))).toEqual([]);

    // Both processes are still up and a good image is still detected correctly.
    expect((await fetch(`${api.url}/health`)).status).toBe(200);
    const good = new FormData();
    good.append('image', new Blob([jpeg], { type: 'image/jpeg' }), 'mask_01.jpg');
    const detect = await fetch(`${api.url}/v1/detect`, { method: 'POST', body: good, signal: AbortSignal.timeout(30_000) });
    expect(detect.status).toBe(200);
    const result = (await detect.json()) as { result: { detections: Array<{ label: string; score: number }> } };
    expect(result.result.detections.map((d) => d.label)).toEqual(['mask']);
    expect(result.result.detections[0]!.score).toBeGreaterThan(0.99);

    // Nothing left behind but finished job records: no blobs, no image bytes in any value.
    await sleep(500);
    const keys = await keysUnder(inspect, prefix);
    expect(keys.filter((k) => k.includes(':blob:'))).toEqual([]);
    for (const key of keys) {
      const type = await inspect.type(key);
      if (type === 'string') expect(await inspect.strlen(key), key).toBeLessThan(1024);
      if (type === 'hash') {
        for (const value of Object.values(await inspect.hgetallBuffer(key))) {
          expect(value.length, key).toBeLessThan(8 * 1024);
          expect(value.subarray(0, 3).equals(Buffer.from([0xff, 0xd8, 0xff])), key).toBe(false);
        }
      }
    }
  }, 240_000);
});
