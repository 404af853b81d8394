import type { RedisClient } from '@maskq/shared';
import type { Keys } from '@maskq/shared';

/**
 * Token bucket in one Redis hash per owner, refilled and taken in one Lua
 * script (atomic, Redis's clock), so the limit holds across API replicas.
 * Returns {1, 0} when `cost` tokens were taken, {0, ms until they would be}
 * otherwise, {0, -1} when `cost` is more than the bucket holds.
 */
const takeTokensScript = `
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
if cost > burst then return {0, -1} end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(state[1])
local ts = tonumber(state[2])
if tokens == nil or ts == nil then
  tokens = burst
  ts = now
end
if now > ts then
  tokens = math.min(burst, tokens + (now - ts) * rate / 1000)
  ts = now
end
local allowed = 0
local wait = 0
if tokens >= cost then
  tokens = tokens - cost
  allowed = 1
else
  wait = math.ceil((cost - tokens) * 1000 / rate)
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(ts))
redis.call('PEXPIRE', KEYS[1], math.ceil(burst * 1000 / rate) + 1000)
return {allowed, wait}
`;

export interface RateLimitOptions {
  /** Tokens added per second; 0 turns the limiter off. */
  ratePerSecond: number;
  /** Bucket size; 0 means max(1, ceil(ratePerSecond)). */
  burst: number;
}

export type RateDecision = { allowed: true } | { allowed: false; retryAfterMs: number; neverFits: boolean };

type WithTakeTokens = RedisClient & { maskqTakeTokens(key: string, rate: number, burst: number, cost: number): Promise<[number, number]> };

export class RateLimiter {
  readonly enabled: boolean;
  readonly ratePerSecond: number;
  readonly burst: number;
  private readonly redis: WithTakeTokens;

  constructor(
    redis: RedisClient,
    private readonly keys: Keys,
    options: RateLimitOptions,
  ) {
    this.enabled = options.ratePerSecond > 0;
    this.ratePerSecond = options.ratePerSecond;
    this.burst = options.burst > 0 ? options.burst : Math.max(1, Math.ceil(options.ratePerSecond));
    // defineCommand sends EVALSHA and loads the script on NOSCRIPT.
    if (typeof (redis as unknown as Partial<WithTakeTokens>).maskqTakeTokens !== 'function') {
      redis.defineCommand('maskqTakeTokens', { numberOfKeys: 1, lua: takeTokensScript });
    }
    this.redis = redis as unknown as WithTakeTokens;
  }

  /** Takes `cost` tokens from `owner`'s bucket if it has them. */
  async take(owner: string, cost = 1): Promise<RateDecision> {
    if (!this.enabled || cost <= 0) return { allowed: true };
    const [allowed, wait] = await this.redis.maskqTakeTokens(this.keys.rateLimit(owner), this.ratePerSecond, this.burst, cost);
    if (allowed === 1) return { allowed: true };
    return wait < 0 ? { allowed: false, retryAfterMs: 0, neverFits: true } : { allowed: false, retryAfterMs: wait, neverFits: false };
  }
}
