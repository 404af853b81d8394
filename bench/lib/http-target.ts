import { Agent, request } from 'node:http';
import type { MultipartBody } from './multipart.js';

export interface HttpResponse {
  status: number;
  body: Buffer;
}

export interface HttpTargetOptions {
  /** most sockets kept open to the server (closed loop: the client count) */
  maxSockets: number;
  /** a request not answered within this is an error */
  timeoutMs?: number;
}

/**
 * POSTs prebuilt bodies to one URL over keep-alive connections. Deliberately thin (node:http,
 * no FormData, no per-request allocation beyond the response chunks) so the client is never
 * the bottleneck; bench/ceiling.ts measures how far it goes.
 */
export class HttpTarget {
  readonly url: URL;
  private readonly agent: Agent;
  private readonly timeoutMs: number;

  constructor(url: string | URL, options: HttpTargetOptions) {
    this.url = new URL(url);
    if (this.url.protocol !== 'http:') throw new Error(`only http: targets are supported: ${this.url.href}`);
    // Idle sockets close after 2 s, before the server's keep-alive timeout (uvicorn and Node: 5 s):
    // reusing a socket the server is closing would fail with ECONNRESET, the client's fault.
    this.agent = new Agent({ keepAlive: true, maxSockets: options.maxSockets, maxFreeSockets: options.maxSockets, timeout: 2000 });
    this.timeoutMs = options.timeoutMs ?? 60_000;
  }

  post(payload: MultipartBody): Promise<HttpResponse> {
    return this.send('POST', this.url, payload);
  }

  send(method: string, url: URL, payload?: MultipartBody): Promise<HttpResponse> {
    return new Promise((resolvePromise, reject) => {
      const headers: Record<string, string | number> = payload
        ? { 'content-type': payload.contentType, 'content-length': payload.body.length }
        : {};
      const req = request(
        { agent: this.agent, method, host: url.hostname, port: url.port, path: url.pathname + url.search, headers, timeout: this.timeoutMs },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () => resolvePromise({ status: res.statusCode ?? 0, body: chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks) }));
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new Error(`timed out after ${this.timeoutMs} ms`)));
      req.on('error', reject);
      req.end(payload?.body);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

/** The default check of a detect answer: 2xx and `{ success: true }` (seed and maskq alike). */
export function isSuccessfulDetect(res: HttpResponse): string | undefined {
  if (res.status < 200 || res.status >= 300) return `HTTP ${res.status}`;
  try {
    const parsed = JSON.parse(res.body.toString('utf8')) as { success?: unknown };
    return parsed.success === true ? undefined : 'success is not true';
  } catch {
    return 'answer is not JSON';
  }
}
