/** Why a receiver refused a webhook; stable strings a receiver can log or branch on. */
export type WebhookVerificationReason =
  | 'missing_headers'
  | 'invalid_timestamp'
  | 'timestamp_too_old'
  | 'timestamp_too_new'
  | 'invalid_signature'
  | 'invalid_payload';

/** Thrown by `verifyWebhook` when a delivery must not be trusted. Answer it with 400 or 401. */
export class WebhookVerificationError extends Error {
  constructor(
    readonly reason: WebhookVerificationReason,
    message: string,
  ) {
    super(message);
    this.name = 'WebhookVerificationError';
  }
}

export type WebhookUrlReason =
  | 'syntax'
  | 'scheme'
  | 'credentials'
  | 'blocked_address'
  | 'unresolvable'
  | 'lookup_failed';

/**
 * A callback URL maskq refuses to call (bad form, or it points at an address
 * that must not be reached from inside the cluster). `retryable` is true only
 * for DNS failures that may pass on a later delivery attempt.
 */
export class WebhookUrlError extends Error {
  constructor(
    readonly reason: WebhookUrlReason,
    message: string,
    readonly retryable = false,
  ) {
    super(message);
    this.name = 'WebhookUrlError';
  }
}
