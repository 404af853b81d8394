import { pino, type Logger, type LoggerOptions } from 'pino';

/** Paths that may hold secrets; pino replaces them before a line is written. */
export const redactPaths = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-api-key"]',
  'headers.authorization',
  'config.REDIS_URL',
  'config.WEBHOOK_SECRET',
  'config.API_KEYS',
  'config.ADMIN_PASSWORD',
  '*.password',
  '*.secret',
];

export function createLogger(options: { level: string; name: string } & LoggerOptions): Logger {
  return pino({
    base: { service: options.name },
    redact: { paths: redactPaths, censor: '[redacted]' },
    ...options,
  });
}

export type { Logger };
