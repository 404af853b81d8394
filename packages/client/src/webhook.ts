import { createHmac, timingSafeEqual } from 'node:crypto';
import type { JobResource } from './types.js';
import { WebhookVerificationError } from './errors.js';

/**
 * Verifies a maskq webhook (Standard Webhooks: `webhook-id`, `webhook-timestamp`,
 * `webhook-signature: v1,<base64 HMAC-SHA256(key, "<id>.<timestamp>.<body>")>`,
 * key = base64 part of the `whsec_...` secret) and returns the parsed job resource.
 * Pass the raw body exactly as received. Same behaviour as @maskq/shared's
 * verifyWebhook, without its server dependencies.
 */
export function verifyWebhook<T = JobResource>(
  secret: string,
  headers: Headers | Record<string, string | string[] | undefined>,
  rawBody: string | Uint8Array,
  options: { toleranceSeconds?: number; now?: number | Date } = {},
): T {
  const get = (name: string): string | undefined => {
    if (headers instanceof Headers) return headers.get(name) ?? undefined;
    const key = Object.keys(headers).find((k) => k.toLowerCase() === name);
    const value = key === undefined ? undefined : headers[key];
    return Array.isArray(value) ? value.join(' ') : value;
  };
  const id = get('webhook-id');
  const timestamp = get('webhook-timestamp');
  const signatures = get('webhook-signature');
  if (!id || !timestamp || !signatures) throw new WebhookVerificationError('missing_headers', 'webhook-id, webhook-timestamp and webhook-signature are required');
  if (!/^\d{1,15}$/.test(timestamp)) throw new WebhookVerificationError('invalid_timestamp', 'webhook-timestamp must be Unix seconds');
  const nowMs = options.now === undefined ? Date.now() : typeof options.now === 'number' ? options.now : options.now.getTime();
  const tolerance = options.toleranceSeconds ?? 300;
  const age = Math.floor(nowMs / 1000) - Number(timestamp);
  if (age > tolerance) throw new WebhookVerificationError('timestamp_too_old', 'webhook-timestamp is too old');
  if (age < -tolerance) throw new WebhookVerificationError('timestamp_too_new', 'webhook-timestamp is in the future');

  const encoded = secret.startsWith('whsec_') ? secret.slice(6) : secret;
  const body = typeof rawBody === 'string' ? Buffer.from(rawBody, 'utf8') : Buffer.from(rawBody.buffer, rawBody.byteOffset, rawBody.byteLength);
  const expected = createHmac('sha256', Buffer.from(encoded, 'base64')).update(`${id}.${timestamp}.`).update(body).digest();
  let matched = false;
  for (const token of signatures.split(' ')) {
    if (!token.startsWith('v1,')) continue;
    const given = Buffer.from(token.slice(3), 'base64');
    if (given.length === expected.length && timingSafeEqual(given, expected)) matched = true;
  }
  if (!matched) throw new WebhookVerificationError('invalid_signature', 'no matching v1 signature');
  try {
    return JSON.parse(body.toString('utf8')) as T;
  } catch {
    throw new WebhookVerificationError('invalid_payload', 'body is not valid JSON');
  }
}
