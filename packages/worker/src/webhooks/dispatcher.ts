import { DelayedError, Job, Queue, UnrecoverableError, Worker, type ConnectionOptions } from 'bullmq';
import type { RedisClient } from '@maskq/shared';
import {
  queueNames,
  readWebhookState,
  recordWebhookAttempt,
  resolveWebhookTarget,
  parseWebhookUrl,
  toJobResource,
  webhookHeaders,
  webhookUrlPolicy,
  writeWebhookState,
  WebhookUrlError,
  type Config,
  type DetectJobData,
  type DetectJobReturn,
  type Keys,
  type Logger,
  type LookupAll,
  type WebhookJobData,
  type WebhookMetrics,
  type WebhookOutcome,
  type WebhookState,
  type WebhookTarget,
  type WebhookUrlPolicy,
} from '@maskq/shared';
import { webhookBackoffStrategy } from './backoff.js';
import { postWebhook, type PostResult } from './http-post.js';

export const webhookUserAgent = 'maskq-webhooks/0.1.0';

export type WebhookDispatcherConfig = Pick<
  Config,
  | 'WEBHOOK_SECRET'
  | 'WEBHOOK_CONCURRENCY'
  | 'WEBHOOK_TIMEOUT_MS'
  | 'WEBHOOK_BACKOFF_BASE_MS'
  | 'WEBHOOK_ALLOW_PRIVATE'
  | 'WEBHOOK_ALLOWED_HOSTS'
  | 'RESULT_TTL_SECONDS'
>;

export interface WebhookDispatcherOptions {
  /** BullMQ connection for the Worker (blocking; maxRetriesPerRequest null). */
  connection: ConnectionOptions;
  /** Non-blocking client for the delivery state hash. */
  redis: RedisClient;
  keys: Keys;
  config: WebhookDispatcherConfig;
  logger?: Logger;
  /** DNS resolver for the SSRF check (tests inject one); default dns.lookup, all addresses. */
  lookup?: LookupAll;
  /** Delivery attempts by outcome and duration (createWebhookMetrics); none when omitted. */
  metrics?: WebhookMetrics;
  /** Start pulling jobs at once (default true). */
  autorun?: boolean;
}

/** How long a delivery waits before looking again at a detect job that is not finished yet. */
export const unfinishedJobRecheckMs = 250;

export interface WebhookDeliveryResult {
  status: number;
  attempts: number;
}

/** A failed attempt that another attempt may fix; carries Retry-After to the backoff. */
class RetryableDeliveryError extends Error {
  constructor(
    message: string,
    readonly retryAfterMs?: number,
  ) {
    super(message);
    this.name = 'RetryableDeliveryError';
  }
}

const isRetryableStatus = (status: number): boolean => status === 408 || status === 429 || status >= 500;

/**
 * Sends webhooks from the `webhooks` queue, apart from inference: a slow or
 * dead receiver only ever holds a dispatcher slot, never a batch. Each job
 * loads the detect job, checks the callback URL again (SSRF guard, fresh DNS),
 * POSTs the signed job resource to the checked address and records the
 * outcome in the job's webhook state.
 */
export class WebhookDispatcher {
  readonly worker: Worker<WebhookJobData, WebhookDeliveryResult>;
  private readonly detectQueue: Queue<DetectJobData, DetectJobReturn>;
  private readonly policy: WebhookUrlPolicy;
  private readonly secret: string;

  constructor(private readonly options: WebhookDispatcherOptions) {
    const { config, connection, keys } = options;
    if (!config.WEBHOOK_SECRET) throw new Error('WebhookDispatcher needs WEBHOOK_SECRET');
    this.secret = config.WEBHOOK_SECRET;
    this.policy = webhookUrlPolicy(config);
    this.detectQueue = new Queue<DetectJobData, DetectJobReturn>(queueNames.detect, { connection, prefix: keys.bullPrefix });
    this.worker = new Worker<WebhookJobData, WebhookDeliveryResult>(queueNames.webhooks, (job, token) => this.deliver(job, token), {
      connection,
      prefix: keys.bullPrefix,
      concurrency: config.WEBHOOK_CONCURRENCY,
      autorun: options.autorun ?? true,
      settings: { backoffStrategy: webhookBackoffStrategy(config.WEBHOOK_BACKOFF_BASE_MS) },
    });
    this.worker.on('error', (err) => options.logger?.error({ err }, 'webhook worker error'));
  }

  async close(): Promise<void> {
    await this.worker.close();
    await this.detectQueue.close();
  }

  /** One delivery attempt (the BullMQ processor). */
  async deliver(job: Job<WebhookJobData, WebhookDeliveryResult>, token?: string): Promise<WebhookDeliveryResult> {
    const { jobId, event, webhookId } = job.data;
    const attempt = job.attemptsMade + 1;
    const lastAttempt = attempt >= (job.opts.attempts ?? 1);
    let log = this.options.logger?.child({ jobId, event, webhookId, attempt });
    const previous = await readWebhookState(this.options.redis, this.options.keys, jobId);
    const startedAt = performance.now();
    const count = (outcome: WebhookOutcome): void => {
      if (this.options.metrics) recordWebhookAttempt(this.options.metrics, { outcome, durationSeconds: (performance.now() - startedAt) / 1000 });
    };

    const record = async (state: WebhookState): Promise<void> => {
      await writeWebhookState(this.options.redis, this.options.keys, jobId, state, this.options.config.RESULT_TTL_SECONDS);
    };
    const giveUp = async (message: string, status?: number): Promise<never> => {
      await record({ status: 'failed', attempts: attempt, ...(status === undefined ? {} : { last_status: status }), last_error: message });
      count(status === 410 ? 'gone' : 'failed');
      log?.warn({ status, reason: message }, 'webhook failed for good');
      throw new UnrecoverableError(message);
    };
    const retryOrFail = async (message: string, status?: number, retryAfterMs?: number): Promise<never> => {
      await record({
        status: lastAttempt ? 'failed' : 'pending',
        attempts: attempt,
        ...(status === undefined ? {} : { last_status: status }),
        last_error: message,
      });
      count(lastAttempt ? 'failed' : 'retry');
      log?.info({ status, reason: message, lastAttempt }, 'webhook attempt failed');
      throw new RetryableDeliveryError(message, retryAfterMs);
    };

    const detectJob = await Job.fromId<DetectJobData, DetectJobReturn>(this.detectQueue, jobId);
    if (!detectJob) return giveUp('job no longer exists');
    const callback = detectJob.data.callback;
    if (!callback) return giveUp('job has no callback');
    // The request id the image came in with, so its webhook can be followed from upload on.
    if (detectJob.data.requestId) log = log?.child({ requestId: detectJob.data.requestId });
    const state = await detectJob.getState();
    if (state !== 'completed' && state !== 'failed' && token) {
      // Enqueued before the detect job was marked finished (a producer may enqueue first so a
      // crash in between cannot lose the webhook): look again shortly, without using an attempt.
      await job.moveToDelayed(Date.now() + unfinishedJobRecheckMs, token);
      throw new DelayedError();
    }

    let target: WebhookTarget;
    try {
      target = await resolveWebhookTarget(parseWebhookUrl(callback.url), this.policy, this.options.lookup);
    } catch (err) {
      if (err instanceof WebhookUrlError) {
        return err.retryable ? retryOrFail(err.message) : giveUp(`refused: ${err.message}`);
      }
      throw err;
    }

    const webhook: WebhookState = { status: 'pending', attempts: attempt };
    if (previous?.last_status !== undefined) webhook.last_status = previous.last_status;
    if (previous?.last_error !== undefined) webhook.last_error = previous.last_error;
    const body = Buffer.from(JSON.stringify(toJobResource(detectJob, state, { webhook })), 'utf8');
    const timestamp = Math.floor(Date.now() / 1000);
    const headers = {
      ...webhookHeaders(this.secret, webhookId, timestamp, body),
      'content-type': 'application/json',
      'user-agent': webhookUserAgent,
    };

    let response: PostResult;
    try {
      response = await postWebhook(target, body, headers, this.options.config.WEBHOOK_TIMEOUT_MS);
    } catch (err) {
      return retryOrFail((err as Error).message || 'network error');
    }

    const { status } = response;
    if (status >= 200 && status < 300) {
      await record({ status: 'delivered', attempts: attempt, last_status: status });
      count('delivered');
      log?.debug({ status }, 'webhook delivered');
      return { status, attempts: attempt };
    }
    if (status === 410) return giveUp('receiver answered 410 Gone; not retried', status);
    if (status >= 300 && status < 400) return giveUp(`redirect (${status}) not followed`, status);
    if (isRetryableStatus(status)) return retryOrFail(`receiver answered ${status}`, status, response.retryAfterMs);
    return giveUp(`receiver answered ${status}; not retried`, status);
  }
}
