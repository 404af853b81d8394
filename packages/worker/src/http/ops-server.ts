import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serveMetrics, type Registry } from '@maskq/shared';

export interface OpsServerOptions {
  registry: Registry;
  /** Ready = model loaded, connected, taking jobs (false while starting and shutting down). */
  isReady: () => boolean;
}

/**
 * The worker's operations endpoints: /health (process alive), /ready (taking
 * jobs), /metrics (Prometheus). Nothing else; no request bodies are read.
 */
export function createOpsServer({ registry, isReady }: OpsServerOptions): Server {
  return createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const json = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      return json(405, { error: { code: 'invalid_request', message: 'only GET is supported' } });
    }
    if (path === '/health') return json(200, { status: 'ok' });
    if (path === '/ready') return isReady() ? json(200, { status: 'ready' }) : json(503, { status: 'not_ready' });
    if (path === '/metrics') return void serveMetrics(registry, req, res);
    json(404, { error: { code: 'not_found', message: 'not found' } });
  });
}

export async function listen(server: Server, port: number, host: string): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return (server.address() as AddressInfo).port;
}

export async function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}
