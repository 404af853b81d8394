import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { blobKeys, fixture, form, queueCounts, startTestApi, type TestApi } from './harness.js';
import { uniquePrefix } from '../../../test-support/redis.js';

let api: TestApi;
const maxBytes = 64 * 1024;
beforeAll(async () => {
  api = await startTestApi({ prefix: uniquePrefix('api-reject'), env: { MAX_IMAGE_BYTES: String(maxBytes) } });
});
afterAll(async () => {
  await api?.close();
});

const jpeg = fixture('mask_01.jpg');
const big = fixture('scene_5faces_1920x1080.jpg');

async function expectRejected(res: Response, status: number, code: string): Promise<void> {
  expect(res.status).toBe(status);
  expect(res.headers.get('content-type')).toMatch(/^application\/json/);
  const body = (await res.json()) as { error: { code: string; message: string } };
  expect(body.error.code).toBe(code);
  expect(body.error.message).toEqual(expect.any(String));
  expect(JSON.stringify(body)).not.toMatch(/at .*\.(ts|js):\d+/); // no stack trace
  // Nothing was stored or enqueued.
  expect(await queueCounts(api.detectQueue)).toBe(0);
  expect(await blobKeys(api)).toEqual([]);
}

const post = (path: string, init: RequestInit) => fetch(`${api.url}${path}`, { method: 'POST', ...init });

describe('bad input is rejected before anything is enqueued', () => {
  it('precondition: the fixture fits and the big one does not', () => {
    expect(jpeg.length).toBeLessThan(maxBytes);
    expect(big.length).toBeGreaterThan(maxBytes);
  });

  it('0 bytes → 400 invalid_image (multipart and raw)', async () => {
    await expectRejected(await post('/v1/jobs', { body: form([['image', Buffer.alloc(0), 'empty.jpg']]) }), 400, 'invalid_image');
    await expectRejected(await post('/v1/jobs', { body: Buffer.alloc(0), headers: { 'content-type': 'image/jpeg' } }), 400, 'invalid_image');
  });

  it('a text file → 415 unsupported_format (multipart, raw, and a text content type)', async () => {
    const text = Buffer.from('hello, this is not an image at all\n');
    await expectRejected(await post('/v1/jobs', { body: form([['image', text, 'notes.jpg']]) }), 415, 'unsupported_format');
    await expectRejected(await post('/v1/jobs', { body: text, headers: { 'content-type': 'image/jpeg' } }), 415, 'unsupported_format');
    await expectRejected(await post('/v1/jobs', { body: text, headers: { 'content-type': 'text/plain' } }), 415, 'unsupported_format');
    const svg = Buffer.from('<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"></svg>');
    await expectRejected(await post('/v1/jobs', { body: form([['image', svg, 'x.svg']]) }), 415, 'unsupported_format');
  });

  it('oversize → 413 payload_too_large (multipart and raw)', async () => {
    await expectRejected(await post('/v1/jobs', { body: form([['image', big, 'big.jpg']]) }), 413, 'payload_too_large');
    await expectRejected(await post('/v1/jobs', { body: big, headers: { 'content-type': 'image/jpeg' } }), 413, 'payload_too_large');
    await expectRejected(await post('/v1/detect', { body: form([['file', big, 'big.jpg']]) }), 413, 'payload_too_large');
  });

  it('bad metadata → 400 invalid_metadata: not JSON, an array, a scalar, over 4 KiB (field and header)', async () => {
    const cases = ['{not json', '[1,2,3]', '42', JSON.stringify({ blob: 'x'.repeat(4100) })];
    for (const metadata of cases) {
      await expectRejected(await post('/v1/jobs', { body: form([['image', jpeg, 'a.jpg'], ['metadata', metadata]]) }), 400, 'invalid_metadata');
      await expectRejected(
        await post('/v1/jobs', { body: jpeg, headers: { 'content-type': 'image/jpeg', 'x-maskq-metadata': metadata } }),
        400,
        'invalid_metadata',
      );
    }
    await expectRejected(
      await post('/v1/jobs', { body: form([['image', jpeg, 'a.jpg'], ['metadata', '{}'], ['metadata', '{}']]) }),
      400,
      'invalid_metadata',
    );
  });

  it('wrong field name, missing file, two files → 400 invalid_request', async () => {
    await expectRejected(await post('/v1/jobs', { body: form([['file', jpeg, 'a.jpg']]) }), 400, 'invalid_request');
    await expectRejected(await post('/v1/jobs', { body: form([['metadata', '{}']]) }), 400, 'invalid_request');
    await expectRejected(
      await post('/v1/jobs', { body: form([['image', jpeg, 'a.jpg'], ['image', jpeg, 'b.jpg']]) }),
      400,
      'invalid_request',
    );
    await expectRejected(await post('/v1/jobs/batch', { body: form([['image', jpeg, 'a.jpg']]) }), 400, 'invalid_request');
    await expectRejected(await post('/v1/jobs', {}), 400, 'invalid_request');
  });

  it('malformed multipart and JSON bodies → 4xx JSON', async () => {
    await expectRejected(
      await post('/v1/jobs', { body: '--xyz\r\nContent-Disposition: form-data; name="image"; filename="a.jpg"\r\n\r\nabc', headers: { 'content-type': 'multipart/form-data; boundary=xyz' } }),
      400,
      'invalid_request',
    );
    const json = await post('/v1/jobs', { body: '{"image": ', headers: { 'content-type': 'application/json' } });
    expect(json.status).toBe(415);
    await expectRejected(json, 415, 'unsupported_format');
  });

  it('a bad timeout_ms on /v1/detect → 400 before enqueueing', async () => {
    for (const t of ['0', 'abc', '120001', '-5']) {
      await expectRejected(await post(`/v1/detect?timeout_ms=${t}`, { body: form([['file', jpeg, 'a.jpg']]) }), 400, 'invalid_request');
    }
  });

  it('unknown routes → 404 JSON', async () => {
    const res = await fetch(`${api.url}/v2/nothing`);
    expect(res.status).toBe(404);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('not_found');
    const wrongMethod = await fetch(`${api.url}/v1/jobs`, { method: 'PUT' });
    expect(wrongMethod.status).toBe(404);
    expect(wrongMethod.headers.get('content-type')).toMatch(/application\/json/);
  });
});
