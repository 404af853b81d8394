import http from 'node:http';
import https from 'node:https';
import { pinnedLookup, type WebhookTarget } from '@maskq/shared';

export interface PostResult {
  status: number;
  /** Retry-After of a 429/503, in ms, when the receiver sent one */
  retryAfterMs?: number;
}

/** One attempt ran past WEBHOOK_TIMEOUT_MS (connect + request + response headers). */
export class WebhookTimeoutError extends Error {
  constructor(readonly timeoutMs: number) {
    super(`timed out after ${timeoutMs} ms`);
    this.name = 'WebhookTimeoutError';
  }
}

export function parseRetryAfter(value: string | undefined, now = Date.now()): number | undefined {
  if (!value) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/**
 * POSTs one delivery with node:http(s). Connects to the address the SSRF guard
 * checked (pinned `lookup`), never follows redirects (node:http does not),
 * opens a fresh connection per attempt, and aborts the attempt when no
 * response head arrived within `timeoutMs`. The response body is ignored.
 */
export function postWebhook(
  target: WebhookTarget,
  body: Buffer,
  headers: Record<string, string>,
  timeoutMs: number,
): Promise<PostResult> {
  const transport = target.url.protocol === 'https:' ? https : http;
  return new Promise<PostResult>((resolve, reject) => {
    let settled = false;
    const req = transport.request(
      {
        method: 'POST',
        host: target.hostname,
        port: target.port,
        path: `${target.url.pathname}${target.url.search}`,
        headers: { ...headers, host: target.url.host, 'content-length': String(body.length) },
        agent: false,
        lookup: pinnedLookup(target) as unknown as http.RequestOptions['lookup'],
      },
      (res) => {
        clearTimeout(timer);
        settled = true;
        const retryAfter = res.headers['retry-after'];
        const result: PostResult = { status: res.statusCode ?? 0 };
        const retryAfterMs = parseRetryAfter(Array.isArray(retryAfter) ? retryAfter[0] : retryAfter);
        if (retryAfterMs !== undefined) result.retryAfterMs = retryAfterMs;
        resolve(result);
        // Drain and drop the body; a receiver that keeps streaming is cut off.
        res.on('error', () => {});
        res.resume();
        const drain = setTimeout(() => res.destroy(), 1000);
        drain.unref();
        res.on('close', () => clearTimeout(drain));
      },
    );
    const timer = setTimeout(() => req.destroy(new WebhookTimeoutError(timeoutMs)), timeoutMs);
    req.on('error', (err) => {
      clearTimeout(timer);
      if (settled) return;
      settled = true;
      reject(err);
    });
    req.end(body);
  });
}
