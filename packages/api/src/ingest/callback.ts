import {
  MaskqError,
  parseWebhookUrl,
  resolveWebhookTarget,
  webhookEvents,
  webhookUrlPolicy,
  WebhookUrlError,
  type Config,
  type LookupAll,
  type WebhookEvent,
  type WebhookUrlPolicy,
} from '@maskq/shared';

/** What a submission's callback fields allow; build once with `createCallbackGuard(config)`. */
export interface CallbackGuard {
  /** false when WEBHOOK_SECRET is unset: unsigned webhooks are never sent, so callbacks are refused */
  readonly enabled: boolean;
  readonly policy: WebhookUrlPolicy;
  /** DNS resolver for the SSRF check; default dns.lookup (all addresses) */
  readonly lookup?: LookupAll;
}

export function createCallbackGuard(
  config: Pick<Config, 'WEBHOOK_SECRET' | 'WEBHOOK_ALLOW_PRIVATE' | 'WEBHOOK_ALLOWED_HOSTS'>,
  lookup?: LookupAll,
): CallbackGuard {
  return { enabled: Boolean(config.WEBHOOK_SECRET), policy: webhookUrlPolicy(config), ...(lookup ? { lookup } : {}) };
}

export interface CallbackOptions {
  url: string;
  events: WebhookEvent[];
}

const absent = (v: unknown): boolean => v === undefined || v === null || v === '';

/** `callback_events` as a JSON array, repeated form fields, or one comma-separated string. */
function parseEvents(raw: unknown): WebhookEvent[] {
  if (absent(raw)) return [...webhookEvents];
  const items = Array.isArray(raw) ? raw : [raw];
  const names: string[] = [];
  for (const item of items) {
    if (typeof item !== 'string') {
      throw new MaskqError('invalid_request', 'callback_events must be a list of event names');
    }
    names.push(...item.split(',').map((s) => s.trim()).filter((s) => s !== ''));
  }
  if (names.length === 0) {
    throw new MaskqError('invalid_request', `callback_events must name at least one of: ${webhookEvents.join(', ')}`);
  }
  const unknown = names.filter((n) => !(webhookEvents as readonly string[]).includes(n));
  if (unknown.length > 0) {
    throw new MaskqError(
      'invalid_request',
      `unknown callback_events ${unknown.map((n) => JSON.stringify(n.slice(0, 40))).join(', ')}; allowed: ${webhookEvents.join(', ')}`,
    );
  }
  return webhookEvents.filter((e) => names.includes(e));
}

/**
 * Reads `callback_url` and `callback_events` from a submission (form fields or
 * JSON body). Returns undefined when no callback was asked for.
 *
 * Throws MaskqError:
 * - `invalid_request` (400): callback_events without callback_url, or bad events;
 * - `webhooks_disabled` (422): a callback was asked for but WEBHOOK_SECRET is unset;
 * - `invalid_callback_url` (422): not an absolute http(s) URL, has credentials,
 *   does not resolve, or points at a loopback/private/link-local/... address.
 */
export async function parseCallbackOptions(
  fields: Record<string, unknown>,
  guard: CallbackGuard,
): Promise<CallbackOptions | undefined> {
  const rawUrl = fields.callback_url;
  const rawEvents = fields.callback_events;
  if (absent(rawUrl)) {
    if (!absent(rawEvents)) throw new MaskqError('invalid_request', 'callback_events needs callback_url');
    return undefined;
  }
  const events = parseEvents(rawEvents);
  if (!guard.enabled) {
    throw new MaskqError('webhooks_disabled', 'webhooks are not enabled on this server (no WEBHOOK_SECRET); poll the job instead');
  }
  try {
    const url = parseWebhookUrl(Array.isArray(rawUrl) && rawUrl.length === 1 ? rawUrl[0] : rawUrl);
    try {
      await resolveWebhookTarget(url, guard.policy, guard.lookup);
    } catch (err) {
      // A transient DNS failure (not NXDOMAIN) is accepted; every delivery checks the address again.
      if (!(err instanceof WebhookUrlError && err.reason === 'lookup_failed')) throw err;
    }
    return { url: url.href, events };
  } catch (err) {
    if (err instanceof WebhookUrlError) throw new MaskqError('invalid_callback_url', err.message);
    throw err;
  }
}
