import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  generateWebhookSecret,
  loadConfig,
  signWebhook,
  verifyWebhook,
  webhookHeaders,
  webhookIdFor,
  WebhookVerificationError,
  type WebhookVerificationReason,
} from '@maskq/shared';

const secret = generateWebhookSecret();
const id = webhookIdFor('job-1', 'completed');
const now = 1_790_000_000_000;
const ts = Math.floor(now / 1000);
const body = JSON.stringify({ id: 'job-1', status: 'completed', note: 'héllo' });

function reasonOf(fn: () => unknown): WebhookVerificationReason | undefined {
  try {
    fn();
  } catch (err) {
    if (err instanceof WebhookVerificationError) return err.reason;
    throw err;
  }
  return undefined;
}

describe('webhook signing (Standard Webhooks)', () => {
  it('signs v1 HMAC-SHA256 over id.timestamp.body with the base64-decoded key', () => {
    const key = Buffer.from(secret.slice('whsec_'.length), 'base64');
    const expected = createHmac('sha256', key).update(`${id}.${ts}.${body}`).digest('base64');
    expect(signWebhook(secret, id, ts, body)).toBe(`v1,${expected}`);
  });

  it('verifies its own headers and returns the parsed payload (string or bytes, any header case)', () => {
    const headers = webhookHeaders(secret, id, ts, body);
    expect(verifyWebhook(secret, headers, body, { now })).toEqual(JSON.parse(body));
    const upper = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toUpperCase(), v]));
    expect(verifyWebhook(secret, upper, Buffer.from(body), { now })).toEqual(JSON.parse(body));
    expect(verifyWebhook(secret, new Headers(headers), body, { now: new Date(now) })).toEqual(JSON.parse(body));
  });

  it('fails when any byte of body, id or timestamp changes', () => {
    const headers = webhookHeaders(secret, id, ts, body);
    const bytes = Buffer.from(body);
    for (let i = 0; i < bytes.length; i++) {
      const changed = Buffer.from(bytes);
      changed[i] = changed[i]! ^ 0x01;
      expect(reasonOf(() => verifyWebhook(secret, headers, changed, { now }))).toBe('invalid_signature');
    }
    for (let i = 0; i < id.length; i++) {
      const changedId = id.slice(0, i) + (id[i] === 'a' ? 'b' : 'a') + id.slice(i + 1);
      expect(reasonOf(() => verifyWebhook(secret, { ...headers, 'webhook-id': changedId }, body, { now }))).toBe('invalid_signature');
    }
    expect(reasonOf(() => verifyWebhook(secret, { ...headers, 'webhook-timestamp': String(ts + 1) }, body, { now }))).toBe('invalid_signature');
    expect(reasonOf(() => verifyWebhook(secret, { ...headers, 'webhook-timestamp': String(ts - 1) }, body, { now }))).toBe('invalid_signature');
    expect(reasonOf(() => verifyWebhook(generateWebhookSecret(), headers, body, { now }))).toBe('invalid_signature');
  });

  it('rejects timestamps more than 5 minutes old or ahead, accepts within tolerance', () => {
    const old = webhookHeaders(secret, id, ts - 301, body);
    expect(reasonOf(() => verifyWebhook(secret, old, body, { now }))).toBe('timestamp_too_old');
    const ahead = webhookHeaders(secret, id, ts + 301, body);
    expect(reasonOf(() => verifyWebhook(secret, ahead, body, { now }))).toBe('timestamp_too_new');
    const edge = webhookHeaders(secret, id, ts - 299, body);
    expect(verifyWebhook(secret, edge, body, { now })).toEqual(JSON.parse(body));
    expect(reasonOf(() => verifyWebhook(secret, edge, body, { now, toleranceSeconds: 60 }))).toBe('timestamp_too_old');
    expect(reasonOf(() => verifyWebhook(secret, { ...edge, 'webhook-timestamp': '12.5' }, body, { now }))).toBe('invalid_timestamp');
  });

  it('accepts any one of several space-separated signatures and ignores other versions', () => {
    const good = signWebhook(secret, id, ts, body);
    const other = signWebhook(generateWebhookSecret(), id, ts, body);
    const headers = { ...webhookHeaders(secret, id, ts, body), 'webhook-signature': `v2,${good.slice(3)} ${other} ${good}` };
    expect(verifyWebhook(secret, headers, body, { now })).toEqual(JSON.parse(body));
    const onlyV2 = { ...headers, 'webhook-signature': `v2,${good.slice(3)} ${other}` };
    expect(reasonOf(() => verifyWebhook(secret, onlyV2, body, { now }))).toBe('invalid_signature');
  });

  it('rejects missing headers and non-JSON bodies with typed errors', () => {
    const headers = webhookHeaders(secret, id, ts, body);
    for (const name of ['webhook-id', 'webhook-timestamp', 'webhook-signature']) {
      const missing: Record<string, string> = { ...headers };
      delete missing[name];
      expect(reasonOf(() => verifyWebhook(secret, missing, body, { now }))).toBe('missing_headers');
    }
    const text = 'not json';
    expect(reasonOf(() => verifyWebhook(secret, webhookHeaders(secret, id, ts, text), text, { now }))).toBe('invalid_payload');
  });

  it('gives the same webhook-id for the same job and event only', () => {
    expect(webhookIdFor('job-1', 'completed')).toBe(id);
    expect(webhookIdFor('job-1', 'failed')).not.toBe(id);
    expect(webhookIdFor('job-2', 'completed')).not.toBe(id);
    expect(id).toMatch(/^msg_[A-Za-z0-9_-]{27}$/);
  });
});

describe('webhook config', () => {
  it('defaults: webhooks off without a secret, 16 concurrent, 5 s timeout, 8 attempts, private refused', () => {
    const config = loadConfig({});
    expect(config.WEBHOOK_SECRET).toBeUndefined();
    expect(config.WEBHOOK_CONCURRENCY).toBe(16);
    expect(config.WEBHOOK_TIMEOUT_MS).toBe(5000);
    expect(config.WEBHOOK_MAX_ATTEMPTS).toBe(8);
    expect(config.WEBHOOK_ALLOW_PRIVATE).toBe(false);
    expect(config.WEBHOOK_ALLOWED_HOSTS).toEqual([]);
  });

  it('validates the secret and splits the allow-list', () => {
    const config = loadConfig({ WEBHOOK_SECRET: secret, WEBHOOK_ALLOWED_HOSTS: ' Hooks.Internal , ,receiver ' });
    expect(config.WEBHOOK_SECRET).toBe(secret);
    expect(config.WEBHOOK_ALLOWED_HOSTS).toEqual(['hooks.internal', 'receiver']);
    for (const bad of ['plain-text', 'whsec_!!!', `whsec_${Buffer.alloc(8).toString('base64')}`]) {
      expect(() => loadConfig({ WEBHOOK_SECRET: bad })).toThrow(/WEBHOOK_SECRET/);
    }
  });
});
