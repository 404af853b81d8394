import { errorFromResponse, MaskqApiError, MaskqTimeoutError } from './errors.js';
import type * as NodeFs from 'node:fs/promises';
import { readServerSentEvents } from './sse.js';
import { terminalStatuses, type AcceptedJob, type BatchEntry, type DetectResponse, type FinishedJob, type FinishedJobStream, type JobResource } from './types.js';

export interface MaskqClientOptions {
  /** e.g. `http://127.0.0.1:8000` */
  baseUrl: string;
  /** Sent as `Authorization: Bearer <apiKey>`. */
  apiKey?: string;
  /** A fetch implementation; default the global one. */
  fetch?: typeof fetch;
}

/** An image: bytes, a Blob/File, or (Node) a file path. */
export type ImageInput = Blob | Uint8Array | ArrayBuffer | string;

export interface SubmitOptions {
  /** File name sent with the upload (default: the path's base name, or `image`). */
  filename?: string;
  /** Any JSON object, stored with the job and returned with it. */
  metadata?: Record<string, unknown>;
  /** Signed webhook target when the job ends. */
  callbackUrl?: string;
  callbackEvents?: Array<'completed' | 'failed'>;
  /** Longest the job may wait in the queue before it expires instead of starting. */
  maxWaitMs?: number;
  /** Also render an annotated JPEG (GET /v1/jobs/:id/annotated.jpg). */
  annotate?: boolean;
  /** Sent as `Idempotency-Key`: a retried submission with the same key returns the same job. */
  idempotencyKey?: string;
  signal?: AbortSignal;
}

export interface WaitOptions {
  /** Give up after this long (MaskqTimeoutError); default no limit. */
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Called with each state the job passes through (queued, processing, ...). */
  onUpdate?: (job: JobResource) => void;
  /** Polling interval bounds when server-sent events are unavailable. */
  pollIntervalMs?: { min: number; max: number };
}

const isTerminal = (job: JobResource): job is FinishedJob => terminalStatuses.includes(job.status);

async function toBlob(image: ImageInput, filename?: string): Promise<{ blob: Blob; filename: string }> {
  if (typeof image === 'string') {
    // Node only; a variable specifier keeps browser bundlers from pulling node:fs in.
    const fsModule = 'node:fs/promises';
    const { readFile } = (await import(/* @vite-ignore */ fsModule)) as typeof NodeFs;
    return { blob: new Blob([await readFile(image)]), filename: filename ?? image.split(/[\\/]/).pop() ?? 'image' };
  }
  const name = filename ?? (typeof File !== 'undefined' && image instanceof File ? image.name : 'image');
  if (image instanceof Blob) return { blob: image, filename: name };
  return { blob: new Blob([image instanceof ArrayBuffer ? image : new Uint8Array(image)]), filename: name };
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason as Error);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason as Error);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });

/** A controller of our own that also aborts when the caller's signal does; `unlink` stops following it. */
function followSignal(signal: AbortSignal | undefined): { controller: AbortController; unlink: () => void } {
  if (signal?.aborted) throw signal.reason;
  const controller = new AbortController();
  const onAbort = () => controller.abort(signal!.reason);
  signal?.addEventListener('abort', onAbort, { once: true });
  return { controller, unlink: () => signal?.removeEventListener('abort', onAbort) };
}

/**
 * The maskq API over HTTP. Uses only fetch, FormData and Blob (Node 20+, browsers).
 * Every non-2xx answer throws `MaskqApiError` with the API's error `code`.
 */
export class MaskqClient {
  readonly baseUrl: string;
  readonly #apiKey: string | undefined;
  readonly #fetch: typeof fetch;

  constructor(options: MaskqClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.#apiKey = options.apiKey;
    this.#fetch = options.fetch ?? ((input, init) => fetch(input, init));
  }

  async #request(path: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    if (this.#apiKey) headers.set('authorization', `Bearer ${this.#apiKey}`);
    if (!headers.has('accept')) headers.set('accept', 'application/json');
    let res: Response;
    try {
      res = await this.#fetch(`${this.baseUrl}${path}`, { ...init, headers });
    } catch (err) {
      if ((err as Error)?.name === 'AbortError' || init.signal?.aborted) throw err;
      throw new MaskqApiError({ status: 0, code: 'unavailable', message: `cannot reach ${this.baseUrl}: ${(err as Error).message}`, cause: err });
    }
    if (!res.ok) throw await errorFromResponse(res);
    return res;
  }

  async #form(files: Array<{ field: string; image: ImageInput; filename?: string }>, options: SubmitOptions): Promise<FormData> {
    const body = new FormData();
    for (const { field, image, filename } of files) {
      const { blob, filename: name } = await toBlob(image, filename);
      body.append(field, blob, name);
    }
    if (options.metadata !== undefined) body.append('metadata', JSON.stringify(options.metadata));
    if (options.callbackUrl !== undefined) body.append('callback_url', options.callbackUrl);
    if (options.callbackEvents !== undefined) body.append('callback_events', options.callbackEvents.join(','));
    if (options.maxWaitMs !== undefined) body.append('max_wait_ms', String(options.maxWaitMs));
    if (options.annotate !== undefined) body.append('annotate', String(options.annotate));
    return body;
  }

  #submitHeaders(options: SubmitOptions): Record<string, string> {
    return options.idempotencyKey ? { 'idempotency-key': options.idempotencyKey } : {};
  }

  /** `POST /v1/jobs`: queues one image; answers at once with the job id. */
  async submit(image: ImageInput, options: SubmitOptions = {}): Promise<AcceptedJob> {
    const body = await this.#form([{ field: 'image', image, ...(options.filename ? { filename: options.filename } : {}) }], options);
    const res = await this.#request('/v1/jobs', { method: 'POST', body, headers: this.#submitHeaders(options), ...(options.signal ? { signal: options.signal } : {}) });
    return (await res.json()) as AcceptedJob;
  }

  /** `POST /v1/jobs/batch`: one entry per image, in order; a bad image gets its own `error` entry. */
  async submitBatch(images: ImageInput[], options: Omit<SubmitOptions, 'filename'> = {}): Promise<BatchEntry[]> {
    const body = await this.#form(images.map((image) => ({ field: 'images', image })), options);
    const res = await this.#request('/v1/jobs/batch', { method: 'POST', body, headers: this.#submitHeaders(options), ...(options.signal ? { signal: options.signal } : {}) });
    return ((await res.json()) as { jobs: BatchEntry[] }).jobs;
  }

  /** `GET /v1/jobs/:id`. */
  async get(id: string, options: { signal?: AbortSignal } = {}): Promise<JobResource> {
    const res = await this.#request(`/v1/jobs/${encodeURIComponent(id)}`, options.signal ? { signal: options.signal } : {});
    return (await res.json()) as JobResource;
  }

  /** `GET /v1/jobs/:id/annotated.jpg` (jobs submitted with `annotate`): the JPEG, or undefined when there is none (404). */
  async annotatedImage(id: string, options: { signal?: AbortSignal } = {}): Promise<Blob | undefined> {
    try {
      const res = await this.#request(`/v1/jobs/${encodeURIComponent(id)}/annotated.jpg`, { headers: { accept: 'image/jpeg' }, ...(options.signal ? { signal: options.signal } : {}) });
      return await res.blob();
    } catch (err) {
      if (err instanceof MaskqApiError && err.status === 404) return undefined;
      throw err;
    }
  }

  /** `DELETE /v1/jobs/:id`: cancels a job that has not started (409 `conflict` otherwise). */
  async cancel(id: string): Promise<{ id: string; status: 'cancelled' }> {
    const res = await this.#request(`/v1/jobs/${encodeURIComponent(id)}`, { method: 'DELETE' });
    return (await res.json()) as { id: string; status: 'cancelled' };
  }

  /** `POST /v1/detect`: submit and wait server-side; throws MaskqApiError (code `timeout`, with jobId) after timeoutMs. */
  async detect(image: ImageInput, options: SubmitOptions & { timeoutMs?: number } = {}): Promise<DetectResponse> {
    const body = await this.#form([{ field: 'image', image, ...(options.filename ? { filename: options.filename } : {}) }], options);
    const query = options.timeoutMs === undefined ? '' : `?timeout_ms=${Math.max(1, Math.round(options.timeoutMs))}`;
    const res = await this.#request(`/v1/detect${query}`, { method: 'POST', body, headers: this.#submitHeaders(options), ...(options.signal ? { signal: options.signal } : {}) });
    return (await res.json()) as DetectResponse;
  }

  /**
   * Opens `GET /v1/events`: one stream for all of this caller's jobs. Resolves once the server
   * listens, so every job submitted after that and finishing while the stream is open arrives.
   * Iterate it for each finished job (any final status); `close()` ends it. The iteration also
   * ends when the server ends the stream (restart): reopen it, and `get()` the jobs still awaited.
   */
  async finishedJobs(options: { signal?: AbortSignal } = {}): Promise<FinishedJobStream> {
    const { controller, unlink } = followSignal(options.signal);
    let res: Response;
    try {
      res = await this.#request('/v1/events', { headers: { accept: 'text/event-stream' }, signal: controller.signal });
    } catch (err) {
      unlink();
      throw err;
    }
    if (!res.body || !(res.headers.get('content-type') ?? '').startsWith('text/event-stream')) {
      unlink();
      await res.body?.cancel().catch(() => undefined);
      throw new MaskqApiError({ status: res.status, code: 'unavailable', message: 'GET /v1/events did not answer an event stream' });
    }
    // Locked at once: fetch cancels the unlocked body of a collected Response, and nobody may read
    // this one until the caller has submitted its jobs.
    const reader = res.body.getReader();
    async function* jobs(): AsyncGenerator<FinishedJob> {
      try {
        for await (const event of readServerSentEvents(reader)) {
          let job: JobResource;
          try {
            job = JSON.parse(event.data) as JobResource;
          } catch {
            continue;
          }
          if (isTerminal(job)) yield job;
        }
      } catch (err) {
        if (!controller.signal.aborted) throw err;
      } finally {
        unlink();
      }
    }
    const iterator = jobs();
    return {
      [Symbol.asyncIterator]: () => iterator,
      close: () => {
        controller.abort();
        reader.cancel().catch(() => undefined);
      },
    };
  }

  /**
   * Resolves with the job once it is final (completed, failed, expired or cancelled; check `status`).
   * Follows `GET /v1/jobs/:id/events`; if the stream is unavailable or breaks, polls `GET /v1/jobs/:id`.
   */
  async wait(id: string, options: WaitOptions = {}): Promise<FinishedJob> {
    const { controller, unlink } = followSignal(options.signal);
    let timedOut = false;
    const timer = options.timeoutMs === undefined ? undefined : setTimeout(() => {
      timedOut = true;
      controller.abort(new MaskqTimeoutError(`job ${id} not finished within ${options.timeoutMs} ms`, id));
    }, options.timeoutMs);
    try {
      const viaEvents = await this.#waitByEvents(id, controller.signal, options.onUpdate);
      if (viaEvents) return viaEvents;
      return await this.#waitByPolling(id, controller.signal, options);
    } catch (err) {
      if (timedOut) throw new MaskqTimeoutError(`job ${id} not finished within ${options.timeoutMs} ms`, id);
      throw err;
    } finally {
      if (timer) clearTimeout(timer);
      unlink();
    }
  }

  /** The final job from the event stream, or undefined when the stream could not be used (poll instead). */
  async #waitByEvents(id: string, signal: AbortSignal, onUpdate?: (job: JobResource) => void): Promise<FinishedJob | undefined> {
    let res: Response;
    try {
      res = await this.#request(`/v1/jobs/${encodeURIComponent(id)}/events`, { headers: { accept: 'text/event-stream' }, signal });
    } catch (err) {
      if (signal.aborted) throw err;
      // Errors about the job or the caller are final; anything else (proxy, network): poll.
      if (err instanceof MaskqApiError && [400, 401, 403, 404].includes(err.status)) throw err;
      return undefined;
    }
    if (!res.body || !(res.headers.get('content-type') ?? '').startsWith('text/event-stream')) {
      await res.body?.cancel().catch(() => undefined);
      return undefined;
    }
    try {
      for await (const event of readServerSentEvents(res.body)) {
        let job: JobResource;
        try {
          job = JSON.parse(event.data) as JobResource;
        } catch {
          continue;
        }
        onUpdate?.(job);
        // A `cancelled` event carries only { id, status }: the job and its data are gone.
        if (isTerminal(job)) return job;
      }
    } catch (err) {
      if (signal.aborted) throw err;
    }
    return undefined; // stream ended early (server restart): poll
  }

  async #waitByPolling(id: string, signal: AbortSignal, options: WaitOptions): Promise<FinishedJob> {
    const { min, max } = options.pollIntervalMs ?? { min: 200, max: 2000 };
    let interval = min;
    let last: string | undefined;
    for (;;) {
      const job = await this.get(id, { signal });
      if (job.status !== last) {
        last = job.status;
        options.onUpdate?.(job);
      }
      if (isTerminal(job)) return job;
      await sleep(interval, signal);
      interval = Math.min(max, Math.round(interval * 1.5));
    }
  }
}
