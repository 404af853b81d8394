import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { WebhookVerificationError } from '../errors/webhook-errors.js';
import type { JobResource } from '../schemas/job.js';

/**
 * Standard Webhooks signing (the scheme Svix and Replicate use):
 * `webhook-signature: v1,<base64 HMAC-SHA256(key, "<id>.<timestamp>.<body>")>`,
 * keyed with the base64-decoded part of a `whsec_...` secret.
 */

export const webhookSecretPrefix = 'whsec_';
/** The spec recommends 24 to 64 byte keys. */
export const minWebhookKeyBytes = 24;

const base64Pattern = /^[A-Za-z0-9+/]+={0,2}$/;

/** The HMAC key of a `whsec_<base64>` secret; the prefix is optional, as in the spec's libraries. */
export function webhookSecretKey(secret: string): Buffer {
  const encoded = secret.startsWith(webhookSecretPrefix) ? secret.slice(webhookSecretPrefix.length) : secret;
  if (!base64Pattern.test(encoded)) throw new Error('webhook secret must be whsec_ followed by base64');
  return Buffer.from(encoded, 'base64');
}

/** Returns why a secret is unusable, or undefined (used by the config schema). */
export function webhookSecretProblem(secret: string): string | undefined {
  if (!secret.startsWith(webhookSecretPrefix)) return 'must start with whsec_';
  let key: Buffer;
  try {
    key = webhookSecretKey(secret);
  } catch {
    return 'must be whsec_ followed by base64';
  }
  if (key.length < minWebhookKeyBytes) return `key must be at least ${minWebhookKeyBytes} bytes (base64-decoded)`;
  return undefined;
}

/** A fresh secret: `whsec_` + 32 random bytes in base64. */
export function generateWebhookSecret(): string {
  return webhookSecretPrefix + randomBytes(32).toString('base64');
}

type Bytes = string | Buffer | Uint8Array;
const toBuffer = (b: Bytes): Buffer => (typeof b === 'string' ? Buffer.from(b, 'utf8') : Buffer.from(b.buffer, b.byteOffset, b.byteLength));

function hmac(key: Buffer, id: string, timestamp: number | string, body: Bytes): Buffer {
  return createHmac('sha256', key).update(`${id}.${timestamp}.`, 'utf8').update(toBuffer(body)).digest();
}

/** The `webhook-signature` header value for one delivery attempt. */
export function signWebhook(secret: string, id: string, timestamp: number, body: Bytes): string {
  return `v1,${hmac(webhookSecretKey(secret), id, timestamp, body).toString('base64')}`;
}

/**
 * The `webhook-id` of one (job, event): deterministic, so every retry and any
 * replay of the same event carry the same id and receivers can dedupe on it.
 */
export function webhookIdFor(jobId: string, event: string): string {
  return `msg_${createHash('sha256').update(`${jobId}\n${event}`).digest('base64url').slice(0, 27)}`;
}

/** The three headers of a signed delivery. */
export function webhookHeaders(secret: string, id: string, timestamp: number, body: Bytes): Record<string, string> {
  return {
    'webhook-id': id,
    'webhook-timestamp': String(timestamp),
    'webhook-signature': signWebhook(secret, id, timestamp, body),
  };
}

export type WebhookRequestHeaders =
  | Headers
  | Record<string, string | string[] | undefined>;

function header(headers: WebhookRequestHeaders, name: string): string | undefined {
  if (headers instanceof Headers) return headers.get(name) ?? undefined;
  const record = headers as Record<string, string | string[] | undefined>;
  let value = record[name];
  if (value === undefined) {
    const key = Object.keys(record).find((k) => k.toLowerCase() === name);
    value = key === undefined ? undefined : record[key];
  }
  return Array.isArray(value) ? value.join(' ') : value;
}

export interface VerifyWebhookOptions {
  /** Largest accepted distance between `webhook-timestamp` and now, either way. Default 300 s. */
  toleranceSeconds?: number;
  /** The current time (epoch milliseconds or a Date); default `Date.now()`. */
  now?: number | Date;
}

/**
 * For receivers: checks a delivery and returns its parsed JSON payload (the
 * job resource). Throws `WebhookVerificationError` (with a `reason`) when the
 * headers are missing, the timestamp is more than `toleranceSeconds` away from
 * now (replay protection), no `v1,` signature in the header matches (compared
 * in constant time), or the body is not JSON.
 *
 * Pass the body exactly as received (raw bytes or string), before any JSON
 * parsing: the signature covers the bytes.
 */
export function verifyWebhook<T = JobResource>(
  secret: string,
  headers: WebhookRequestHeaders,
  rawBody: Bytes,
  options: VerifyWebhookOptions = {},
): T {
  const id = header(headers, 'webhook-id');
  const timestamp = header(headers, 'webhook-timestamp');
  const signatures = header(headers, 'webhook-signature');
  if (!id || !timestamp || !signatures) {
    throw new WebhookVerificationError('missing_headers', 'webhook-id, webhook-timestamp and webhook-signature are required');
  }
  if (!/^\d{1,15}$/.test(timestamp)) {
    throw new WebhookVerificationError('invalid_timestamp', 'webhook-timestamp must be Unix seconds');
  }
  const tolerance = options.toleranceSeconds ?? 300;
  const nowMs = options.now === undefined ? Date.now() : typeof options.now === 'number' ? options.now : options.now.getTime();
  const nowSeconds = Math.floor(nowMs / 1000);
  const sentAt = Number(timestamp);
  if (sentAt < nowSeconds - tolerance) {
    throw new WebhookVerificationError('timestamp_too_old', 'webhook-timestamp is too old');
  }
  if (sentAt > nowSeconds + tolerance) {
    throw new WebhookVerificationError('timestamp_too_new', 'webhook-timestamp is in the future');
  }

  const expected = hmac(webhookSecretKey(secret), id, timestamp, rawBody);
  let matched = false;
  for (const token of signatures.split(' ')) {
    const comma = token.indexOf(',');
    if (comma < 0 || token.slice(0, comma) !== 'v1') continue;
    const given = Buffer.from(token.slice(comma + 1), 'base64');
    // Keep looping after a match so the time taken does not depend on which token matched.
    if (given.length === expected.length && timingSafeEqual(given, expected)) matched = true;
  }
  if (!matched) {
    throw new WebhookVerificationError('invalid_signature', 'no matching v1 signature');
  }

  try {
    return JSON.parse(toBuffer(rawBody).toString('utf8')) as T;
  } catch {
    throw new WebhookVerificationError('invalid_payload', 'body is not valid JSON');
  }
}
