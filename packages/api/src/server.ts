import { once } from 'node:events';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Express } from 'express';

export interface RunningServer {
  server: Server;
  /** Base URL, e.g. http://127.0.0.1:8000 */
  url: string;
  port: number;
  /** Stops accepting, lets requests in flight finish for up to `graceMs`, then cuts the rest. */
  close(graceMs?: number): Promise<void>;
}

export async function startServer(app: Express, options: { host: string; port: number }): Promise<RunningServer> {
  const server = createServer(app);
  // Slow-loris bounds; uploads of 10 MiB on slow links still fit.
  server.headersTimeout = 20_000;
  server.requestTimeout = 300_000;
  server.keepAliveTimeout = 5_000;
  server.listen(options.port, options.host);
  await once(server, 'listening');
  const { port, address } = server.address() as AddressInfo;
  const host = address.includes(':') ? `[${address}]` : address;

  let closing: Promise<void> | undefined;
  // Once closing, every answer ends its keep-alive connection: a busy client reusing its socket
  // would otherwise keep the server open until the grace period cuts its requests mid-flight.
  server.prependListener('request', (_req, res: ServerResponse) => {
    if (closing) res.shouldKeepAlive = false;
  });
  return {
    server,
    port,
    url: `http://${host}:${port}`,
    close(graceMs = 10_000) {
      closing ??= new Promise<void>((resolve) => {
        const timer = setTimeout(() => server.closeAllConnections(), graceMs);
        timer.unref();
        server.close(() => {
          clearTimeout(timer);
          resolve();
        });
        server.closeIdleConnections();
      });
      return closing;
    },
  };
}
