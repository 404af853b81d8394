import { createHash } from 'node:crypto';
import type { RedisClient } from '@maskq/shared';
import type { Keys } from '@maskq/shared';
import { HttpError } from '../errors/http-error.js';

export const idempotencyHeader = 'idempotency-key';
export const idempotencyTtlSeconds = 24 * 3600;
const maxKeyLength = 255;

/** What an idempotency key remembers: the image it was first used with and the job that got. */
export interface IdempotencyRecord {
  /** sha256 of the image bytes, hex */
  hash: string;
  jobId: string;
}

export type Claim = { claimed: true } | { claimed: false; record: IdempotencyRecord };

/** The `Idempotency-Key` header, or undefined; 400 when it is sent but malformed. */
export function readIdempotencyKey(header: string | string[] | undefined): string | undefined {
  if (header === undefined) return undefined;
  const value = Array.isArray(header) ? header[0] : header;
  if (Array.isArray(header) && header.length > 1) throw new HttpError(400, 'invalid_request', 'send Idempotency-Key once');
  if (value === undefined || value.length === 0 || value.length > maxKeyLength || !/^[\x21-\x7e]+$/.test(value)) {
    throw new HttpError(400, 'invalid_request', `Idempotency-Key must be 1-${maxKeyLength} visible ASCII characters`);
  }
  return value;
}

export const sha256Hex = (bytes: Buffer | string): string => createHash('sha256').update(bytes).digest('hex');

/** Deletes the key only while it still names this job (a later claim is never removed). */
const releaseScript = `
local v = redis.call('GET', KEYS[1])
if v and cjson.decode(v).jobId == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;

type WithRelease = RedisClient & { maskqReleaseIdempotency(key: string, jobId: string): Promise<number> };

/**
 * `Idempotency-Key` records, scoped per owner, kept 24 h. A key is claimed
 * with SET NX before the job is enqueued, so of two concurrent requests with
 * the same key exactly one enqueues; the other sees the first one's record.
 */
export class IdempotencyStore {
  private readonly redis: WithRelease;

  constructor(
    redis: RedisClient,
    private readonly keys: Keys,
    private readonly ttlSeconds = idempotencyTtlSeconds,
  ) {
    if (typeof (redis as unknown as Partial<WithRelease>).maskqReleaseIdempotency !== 'function') {
      redis.defineCommand('maskqReleaseIdempotency', { numberOfKeys: 1, lua: releaseScript });
    }
    this.redis = redis as unknown as WithRelease;
  }

  /** Redis key: the client's key is hashed, so any length or character set gives a short, safe key. */
  private redisKey(owner: string, key: string): string {
    return this.keys.idempotency(owner, sha256Hex(key).slice(0, 40));
  }

  async claim(owner: string, key: string, record: IdempotencyRecord): Promise<Claim> {
    const redisKey = this.redisKey(owner, key);
    for (let attempt = 0; attempt < 3; attempt++) {
      const set = await this.redis.set(redisKey, JSON.stringify(record), 'EX', this.ttlSeconds, 'NX');
      if (set === 'OK') return { claimed: true };
      const existing = await this.redis.get(redisKey);
      if (existing === null) continue; // expired or released in between: try again
      try {
        const parsed = JSON.parse(existing) as Partial<IdempotencyRecord>;
        if (typeof parsed.hash === 'string' && typeof parsed.jobId === 'string') return { claimed: false, record: { hash: parsed.hash, jobId: parsed.jobId } };
      } catch {
        // fall through
      }
      throw new Error(`unreadable idempotency record at ${redisKey}`);
    }
    throw new HttpError(409, 'conflict', 'the Idempotency-Key is being used by another request; retry');
  }

  /** Frees a claim whose job could not be enqueued, so a retry with the same key can succeed. */
  async release(owner: string, key: string, jobId: string): Promise<void> {
    await this.redis.maskqReleaseIdempotency(this.redisKey(owner, key), jobId);
  }
}
