import { describe, expect, it } from 'vitest';
import { generateWebhookSecret, MaskqError, type ErrorCode } from '@maskq/shared';
import { createCallbackGuard, parseCallbackOptions, type CallbackGuard } from '../src/ingest/callback.js';

const secret = generateWebhookSecret();
const guard = createCallbackGuard({ WEBHOOK_SECRET: secret, WEBHOOK_ALLOW_PRIVATE: false, WEBHOOK_ALLOWED_HOSTS: [] });
// Public names cannot be resolved offline: this resolver answers a fixed public address.
const publicGuard: CallbackGuard = { ...guard, lookup: async () => [{ address: '93.184.216.34', family: 4 }] };

async function codeOf(fields: Record<string, unknown>, g: CallbackGuard = publicGuard): Promise<ErrorCode | undefined> {
  try {
    await parseCallbackOptions(fields, g);
  } catch (err) {
    if (err instanceof MaskqError) return err.code;
    throw err;
  }
  return undefined;
}

describe('parseCallbackOptions', () => {
  it('returns undefined when no callback is asked for', async () => {
    expect(await parseCallbackOptions({}, publicGuard)).toBeUndefined();
    expect(await parseCallbackOptions({ callback_url: '' }, publicGuard)).toBeUndefined();
  });

  it('defaults to both events and normalises the URL', async () => {
    expect(await parseCallbackOptions({ callback_url: 'HTTPS://Hooks.Example.com/maskq?x=1' }, publicGuard)).toEqual({
      url: 'https://hooks.example.com/maskq?x=1',
      events: ['completed', 'failed'],
    });
  });

  it('reads events as a comma list, repeated fields or a JSON array, deduplicated', async () => {
    const url = 'http://hooks.example.com/';
    expect((await parseCallbackOptions({ callback_url: url, callback_events: 'failed' }, publicGuard))?.events).toEqual(['failed']);
    expect((await parseCallbackOptions({ callback_url: url, callback_events: 'failed, completed' }, publicGuard))?.events).toEqual(['completed', 'failed']);
    expect((await parseCallbackOptions({ callback_url: url, callback_events: ['completed', 'completed'] }, publicGuard))?.events).toEqual(['completed']);
  });

  it('answers invalid_request for bad events or events without a URL', async () => {
    const url = 'http://hooks.example.com/';
    expect(await codeOf({ callback_url: url, callback_events: 'done' })).toBe('invalid_request');
    expect(await codeOf({ callback_url: url, callback_events: ['completed', 'started'] })).toBe('invalid_request');
    expect(await codeOf({ callback_url: url, callback_events: ',' })).toBe('invalid_request');
    expect(await codeOf({ callback_url: url, callback_events: [1] })).toBe('invalid_request');
    expect(await codeOf({ callback_events: 'completed' })).toBe('invalid_request');
  });

  it('answers invalid_callback_url for bad, credentialed and internal URLs', async () => {
    for (const callback_url of [
      'ftp://hooks.example.com/',
      'hooks.example.com/x',
      'http://user:pw@hooks.example.com/',
      42,
      'http://127.0.0.1/',
      'http://2130706433/',
      'http://[::ffff:127.0.0.1]/',
      'http://169.254.169.254/latest/meta-data/',
    ]) {
      expect(await codeOf({ callback_url }), String(callback_url)).toBe('invalid_callback_url');
    }
    // real DNS: localhost resolves to loopback
    expect(await codeOf({ callback_url: 'http://localhost:8080/hook' }, guard)).toBe('invalid_callback_url');
  });

  it('answers webhooks_disabled when the server has no WEBHOOK_SECRET', async () => {
    const off = createCallbackGuard({ WEBHOOK_ALLOW_PRIVATE: false, WEBHOOK_ALLOWED_HOSTS: [] });
    expect(off.enabled).toBe(false);
    expect(await codeOf({ callback_url: 'https://hooks.example.com/' }, off)).toBe('webhooks_disabled');
    expect(await parseCallbackOptions({}, off)).toBeUndefined();
  });

  it('lets loopback through when WEBHOOK_ALLOW_PRIVATE or the allow-list says so', async () => {
    const open = createCallbackGuard({ WEBHOOK_SECRET: secret, WEBHOOK_ALLOW_PRIVATE: true, WEBHOOK_ALLOWED_HOSTS: [] });
    expect((await parseCallbackOptions({ callback_url: 'http://127.0.0.1:9999/h' }, open))?.url).toBe('http://127.0.0.1:9999/h');
    const listed = createCallbackGuard({ WEBHOOK_SECRET: secret, WEBHOOK_ALLOW_PRIVATE: false, WEBHOOK_ALLOWED_HOSTS: ['localhost'] });
    expect((await parseCallbackOptions({ callback_url: 'http://localhost:9999/h' }, listed))?.url).toBe('http://localhost:9999/h');
  });
});
