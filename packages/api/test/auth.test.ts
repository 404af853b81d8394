import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { ConfigError, type DetectJobData } from '@maskq/shared';
import {
  createApiKeyring,
  isLoopbackHost,
  readApiKeys,
  takeApiKeyring,
  unauthenticatedListenProblem,
} from '../src/auth/api-keys.js';
import { fixture, form, readSse, startTestApi, type TestApi } from './harness.js';
import { repoRoot } from '../../../test-support/paths.js';
import { deleteKeysUnder, testRedisUrl, uniquePrefix } from '../../../test-support/redis.js';

const keyA = 'key-a-0123456789abcdef';
const keyB = 'key-b-fedcba9876543210';
const tmp = mkdtempSync(join(tmpdir(), 'maskq-keys-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('API keys (unit)', () => {
  it('reads API_KEYS (comma list) and API_KEYS_FILE (lines, # comments), refuses short keys and unreadable files', () => {
    const file = join(tmp, 'keys.txt');
    writeFileSync(file, `# ops keys\n${keyB}  # camera fleet\n\n   \n`);
    expect(readApiKeys({ API_KEYS: ` ${keyA} ,`, API_KEYS_FILE: file })).toEqual([keyA, keyB]);
    expect(() => readApiKeys({ API_KEYS: 'short' })).toThrow(ConfigError);
    expect(() => readApiKeys({ API_KEYS_FILE: join(tmp, 'missing.txt') })).toThrow(ConfigError);
  });

  it('keeps only digests: verify gives a stable 16-hex owner per key, undefined for others', () => {
    const keyring = createApiKeyring([keyA, keyB]);
    expect(keyring.enabled).toBe(true);
    expect(keyring.size).toBe(2);
    const a = keyring.verify(keyA);
    const b = keyring.verify(keyB);
    expect(a?.owner).toMatch(/^[0-9a-f]{16}$/);
    expect(b?.owner).toMatch(/^[0-9a-f]{16}$/);
    expect(a?.owner).not.toBe(b?.owner);
    expect(keyring.verify(keyA)).toEqual(a);
    expect(keyring.verify(`${keyA}x`)).toBeUndefined();
    expect(keyring.verify('')).toBeUndefined();
    expect(createApiKeyring([]).enabled).toBe(false);
  });

  it('takeApiKeyring returns a config without the plaintext keys', () => {
    const { keyring, config } = takeApiKeyring({ API_KEYS: `${keyA},${keyB}`, API_KEYS_FILE: undefined, PORT: 1 });
    expect(keyring.verify(keyB)).toBeDefined();
    expect(JSON.stringify(config)).not.toContain(keyA);
    expect(JSON.stringify(config)).not.toContain(keyB);
    expect('API_KEYS' in config).toBe(false);
  });

  it('refuses a non-loopback HOST without keys unless ALLOW_UNAUTHENTICATED', () => {
    const none = createApiKeyring([]);
    expect(isLoopbackHost('127.0.0.1')).toBe(true);
    expect(isLoopbackHost('::1')).toBe(true);
    expect(isLoopbackHost('0.0.0.0')).toBe(false);
    expect(unauthenticatedListenProblem({ HOST: '127.0.0.1', ALLOW_UNAUTHENTICATED: false }, none)).toBeUndefined();
    expect(unauthenticatedListenProblem({ HOST: '0.0.0.0', ALLOW_UNAUTHENTICATED: false }, none)).toMatch(/API_KEYS/);
    expect(unauthenticatedListenProblem({ HOST: '0.0.0.0', ALLOW_UNAUTHENTICATED: true }, none)).toBeUndefined();
    expect(unauthenticatedListenProblem({ HOST: '0.0.0.0', ALLOW_UNAUTHENTICATED: false }, createApiKeyring([keyA]))).toBeUndefined();
  });
});

describe('API keys over HTTP', () => {
  let api: TestApi;
  beforeAll(async () => {
    api = await startTestApi({ prefix: uniquePrefix('api-auth'), deps: { apiKeys: createApiKeyring([keyA, keyB]) } });
  });
  afterAll(async () => {
    await api?.close();
  });

  const jpeg = fixture('mask_01.jpg');
  const auth = (key: string) => ({ authorization: `Bearer ${key}` });
  const submit = (headers: Record<string, string>) =>
    fetch(`${api.url}/v1/jobs`, { method: 'POST', body: form([['image', jpeg, 'a.jpg']]), headers });

  it('answers 401 unauthorized with WWW-Authenticate without a key, with a wrong key, or a non-Bearer scheme', async () => {
    for (const headers of [{}, auth('wrong-key-0000000000000'), { authorization: `Basic ${Buffer.from(`u:${keyA}`).toString('base64')}` }]) {
      const res = await submit(headers);
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toMatch(/^Bearer realm="maskq"/);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('unauthorized');
    }
    const get = await fetch(`${api.url}/v1/jobs/whatever`);
    expect(get.status).toBe(401);
    expect(await api.detectQueue.count()).toBe(0);
    // Health stays open for probes.
    expect((await fetch(`${api.url}/health`)).status).toBe(200);
  });

  it('stores the owner id (never the key); another key cannot see, cancel or follow the job', async () => {
    const res = await submit(auth(keyA));
    expect(res.status).toBe(202);
    const { id } = (await res.json()) as { id: string };
    const job = await api.detectQueue.getJob(id);
    const data = job!.data as DetectJobData;
    expect(data.owner).toBe(createApiKeyring([keyA]).verify(keyA)!.owner);
    expect(JSON.stringify(data)).not.toContain(keyA);

    expect((await fetch(`${api.url}/v1/jobs/${id}`, { headers: auth(keyA) })).status).toBe(200);
    const other = await fetch(`${api.url}/v1/jobs/${id}`, { headers: auth(keyB) });
    expect(other.status).toBe(404);
    expect(((await other.json()) as { error: { code: string } }).error.code).toBe('not_found');
    expect((await fetch(`${api.url}/v1/jobs/${id}`, { method: 'DELETE', headers: auth(keyB) })).status).toBe(404);
    const sse = await fetch(`${api.url}/v1/jobs/${id}/events`, { headers: auth(keyB) });
    expect(sse.status).toBe(404);
    await sse.body?.cancel();
    expect(await job!.getState()).toBe('waiting');
    // Its owner can cancel it.
    expect((await fetch(`${api.url}/v1/jobs/${id}`, { method: 'DELETE', headers: auth(keyA) })).status).toBe(200);
  });

  it('without keys configured every job is visible (no owner stored)', async () => {
    const open = await startTestApi({ prefix: uniquePrefix('api-open') });
    try {
      const res = await fetch(`${open.url}/v1/jobs`, { method: 'POST', body: form([['image', jpeg, 'a.jpg']]) });
      const { id } = (await res.json()) as { id: string };
      expect((await open.detectQueue.getJob(id))!.data.owner).toBeUndefined();
      expect((await fetch(`${open.url}/v1/jobs/${id}`, { headers: auth(keyB) })).status).toBe(200);
      expect((await readSse(`${open.url}/v1/jobs/nope/events`)).status).toBe(404);
    } finally {
      await open.close();
    }
  });
});

function runApi(env: Record<string, string>) {
  const child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', 'packages/api/src/main.ts'], {
    cwd: repoRoot,
    env: { ...process.env, REDIS_URL: testRedisUrl, LOG_LEVEL: 'info', API_KEYS: '', API_KEYS_FILE: '', ALLOW_UNAUTHENTICATED: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let text = '';
  child.stdout.on('data', (d: Buffer) => (text += d.toString()));
  child.stderr.on('data', (d: Buffer) => (text += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, output: () => text, exited };
}

describe('the API process and keys', () => {
  it('refuses to listen on 0.0.0.0 without API keys (exit 78, says what to set)', async () => {
    const { exited, output } = runApi({ HOST: '0.0.0.0', PORT: '0', QUEUE_PREFIX: uniquePrefix('api-open-host') });
    expect(await exited).toBe(78);
    expect(output()).toMatch(/API_KEYS/);
    expect(output()).toMatch(/ALLOW_UNAUTHENTICATED=true/);
  });

  it('with keys: starts on loopback and never logs a presented key', async () => {
    const prefix = uniquePrefix('api-keys-proc');
    const withKeys = runApi({ HOST: '127.0.0.1', PORT: '0', API_KEYS: keyA, QUEUE_PREFIX: prefix });
    try {
      const url = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no start: ${withKeys.output()}`)), 20_000);
        const check = setInterval(() => {
          const m = /"url":"(http:\/\/[^"]+)"/.exec(withKeys.output());
          if (m) {
            clearInterval(check);
            clearTimeout(timer);
            resolve(m[1]!);
          }
        }, 50);
      });
      const wrong = 'presented-wrong-key-do-not-log';
      expect((await fetch(`${url}/v1/jobs/x`, { headers: { authorization: `Bearer ${wrong}` } })).status).toBe(401);
      expect((await fetch(`${url}/v1/jobs/x`, { headers: { authorization: `Bearer ${keyA}` } })).status).toBe(404);
      await new Promise((r) => setTimeout(r, 200));
      expect(withKeys.output()).toMatch(/API keys loaded/);
      expect(withKeys.output()).not.toContain(wrong);
      expect(withKeys.output()).not.toContain(keyA);
    } finally {
      withKeys.child.kill('SIGTERM');
      await withKeys.exited;
      const inspect = new Redis(testRedisUrl);
      await deleteKeysUnder(inspect, prefix);
      inspect.disconnect();
    }
  }, 30_000);
});
