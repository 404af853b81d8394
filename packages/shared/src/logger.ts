import { pino, type DestinationStream, type Logger, type LoggerOptions } from 'pino';

/** Paths that may hold secrets or image bytes; pino replaces them before a line is written. */
export const redactPaths = [
  'req.headers.authorization',
  'req.headers["proxy-authorization"]',
  'req.headers.cookie',
  'req.headers["x-api-key"]',
  'req.query.token',
  'req.query.access_token',
  'req.query.api_key',
  'req.query.key',
  'req.query.signature',
  'req.query.sig',
  'res.headers["set-cookie"]',
  'headers.authorization',
  'headers.cookie',
  'headers["x-api-key"]',
  'config.REDIS_URL',
  'config.WEBHOOK_SECRET',
  'config.API_KEYS',
  'config.METRICS_TOKEN',
  'config.ADMIN_PASSWORD',
  '*.password',
  '*.secret',
  '*.token',
  '*.apiKey',
  // multer file objects: never log image bytes
  '*.buffer',
  'files[*].buffer',
];

/** Query parameters whose values are secrets (tokens in URLs, signed links). */
const secretQueryParams = /^(token|access_token|api_key|apikey|key|signature|sig|password|secret)$/i;

/** `/x?token=abc&a=1` -> `/x?token=[redacted]&a=1`: request URLs are logged, their secrets are not. */
export function redactUrl(url: string): string {
  const q = url.indexOf('?');
  if (q === -1) return url;
  const params = url
    .slice(q + 1)
    .split('&')
    .map((pair) => {
      const eq = pair.indexOf('=');
      const name = eq === -1 ? pair : pair.slice(0, eq);
      let decoded = name;
      try {
        decoded = decodeURIComponent(name);
      } catch {
        // keep the raw name
      }
      return eq !== -1 && secretQueryParams.test(decoded) ? `${name}=[redacted]` : pair;
    });
  return `${url.slice(0, q)}?${params.join('&')}`;
}

/**
 * Serializers for request log lines (the API's requestLogger): `req` gets the request already
 * serialized by pino's standard serializer, and only redacts its URL.
 */
export const httpLogSerializers = {
  req(req: { url?: string } & Record<string, unknown>) {
    if (typeof req.url === 'string') req.url = redactUrl(req.url);
    return req;
  },
};

export function createLogger(options: { level: string; name: string } & LoggerOptions, destination?: DestinationStream): Logger {
  const pinoOptions: LoggerOptions = {
    base: { service: options.name },
    redact: { paths: redactPaths, censor: '[redacted]' },
    ...options,
  };
  return destination ? pino(pinoOptions, destination) : pino(pinoOptions);
}

export type { Logger };
