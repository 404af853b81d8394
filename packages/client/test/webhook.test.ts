import { describe, expect, it } from 'vitest';
import { generateWebhookSecret, signWebhook, verifyWebhook as sharedVerify, webhookHeaders } from '@maskq/shared';
import { verifyWebhook, WebhookVerificationError } from '../src/index.js';

const secret = generateWebhookSecret();
const body = JSON.stringify({ id: 'job-1', status: 'completed', created_at: '2026-01-01T00:00:00.000Z' });
const now = Math.floor(Date.now() / 1000);

const reason = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    expect((err as Error).name).toBe('WebhookVerificationError');
    return (err as WebhookVerificationError).reason;
  }
  return 'accepted';
};

describe("client verifyWebhook agrees with @maskq/shared's signer and verifier", () => {
  it('throws its own error class', () => {
    expect(() => verifyWebhook(secret, {}, body)).toThrow(WebhookVerificationError);
  });

  it('accepts what the server signs (Headers, plain objects, bytes, rotated signatures)', () => {
    const headers = webhookHeaders(secret, 'msg_1', now, body);
    expect(verifyWebhook(secret, headers, body)).toEqual(JSON.parse(body));
    expect(verifyWebhook(secret, new Headers(headers), Buffer.from(body))).toEqual(JSON.parse(body));
    const upper = { 'Webhook-Id': 'msg_1', 'Webhook-Timestamp': String(now), 'Webhook-Signature': `v1,AAAA ${headers['webhook-signature']}` };
    expect(verifyWebhook(secret, upper, new TextEncoder().encode(body))).toEqual(JSON.parse(body));
  });

  it('rejects what the shared verifier rejects, with the same reason', () => {
    const good = webhookHeaders(secret, 'msg_1', now, body);
    const cases: Array<[string, Record<string, string>, string, { now?: number }?]> = [
      ['tampered body', good, body.replace('completed', 'failed')],
      ['other secret', webhookHeaders(generateWebhookSecret(), 'msg_1', now, body), body],
      ['other id', { ...good, 'webhook-id': 'msg_2' }, body],
      ['missing header', { 'webhook-id': 'msg_1', 'webhook-timestamp': String(now) }, body],
      ['bad timestamp', { ...good, 'webhook-timestamp': 'yesterday' }, body],
      ['too old', good, body, { now: (now + 301) * 1000 }],
      ['too new', good, body, { now: (now - 301) * 1000 }],
      ['not json', webhookHeaders(secret, 'msg_1', now, 'nope'), 'nope'],
      ['v2 only', { ...good, 'webhook-signature': `v2,${signWebhook(secret, 'msg_1', now, body).slice(3)}` }, body],
    ];
    for (const [name, headers, raw, options] of cases) {
      const ours = reason(() => verifyWebhook(secret, headers, raw, options));
      const theirs = reason(() => sharedVerify(secret, headers, raw, options));
      expect(ours, name).not.toBe('accepted');
      expect(ours, name).toBe(theirs);
    }
  });
});
