import { createHash, timingSafeEqual } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';

export interface BasicAuthOptions {
  user: string;
  password: string;
  realm: string;
}

/** Compares digests, so neither the length nor the content of the secret leaks through timing. */
function safeEqual(a: string, b: string): boolean {
  const da = createHash('sha256').update(a).digest();
  const db = createHash('sha256').update(b).digest();
  return timingSafeEqual(da, db);
}

/** `Basic dXNlcjpwYXNz` -> { user, password }, or undefined when malformed. */
export function parseBasicAuth(header: string | undefined): { user: string; password: string } | undefined {
  const match = /^Basic +([A-Za-z0-9+/=]+) *$/i.exec(header ?? '');
  if (!match) return undefined;
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon === -1) return undefined;
  return { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

/** HTTP basic auth (RFC 7617) in front of a router; 401 with `WWW-Authenticate` otherwise. */
export function basicAuth({ user, password, realm }: BasicAuthOptions) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const given = parseBasicAuth(req.headers.authorization);
    // Evaluate both comparisons always: no early exit that tells which part was wrong.
    const userOk = safeEqual(given?.user ?? '', user);
    const passwordOk = safeEqual(given?.password ?? '', password);
    if (given && userOk && passwordOk) {
      next();
      return;
    }
    res
      .status(401)
      .set('WWW-Authenticate', `Basic realm="${realm}", charset="UTF-8"`)
      .set('Cache-Control', 'no-store')
      .json({ error: { code: 'unauthorized', message: 'queue dashboard needs valid credentials' } });
  };
}
