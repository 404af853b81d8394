import type { NextFunction, Request, Response } from 'express';
import { HttpError } from '../errors/http-error.js';
import type { ApiKeyring, Principal } from './api-keys.js';

const bearer = /^Bearer +([\x21-\x7e]{1,4096}) *$/i;

/**
 * `Authorization: Bearer <key>` on every route it guards when keys are
 * configured; sets `req.principal`. Without keys it lets everything through.
 */
export function authenticate(keyring: ApiKeyring) {
  return (req: Request, _res: Response, next: NextFunction): void => {
    if (!keyring.enabled) return next();
    const header = req.headers.authorization;
    const match = header === undefined ? null : bearer.exec(header);
    const principal = match ? keyring.verify(match[1]!) : undefined;
    if (principal) {
      req.principal = principal;
      return next();
    }
    const challenge = header === undefined ? 'Bearer realm="maskq"' : 'Bearer realm="maskq", error="invalid_token"';
    next(
      new HttpError(401, 'unauthorized', header === undefined ? 'this API needs an API key: Authorization: Bearer <key>' : 'the API key is not valid', {
        headers: { 'WWW-Authenticate': challenge, 'Cache-Control': 'no-store' },
      }),
    );
  };
}

/** Whether a job stored with `owner` is visible to this request. Without keys every job is. */
export function canSee(req: Request, owner: string | undefined): boolean {
  return req.principal === undefined || req.principal.owner === owner;
}

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request {
      /** Set by authenticate() when API keys are configured. */
      principal?: Principal;
    }
  }
}
