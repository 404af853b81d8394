import { Redis, type RedisOptions } from 'ioredis';
import type { Config } from '../config/schema.js';

export interface RedisConnectionOptions {
  /** Connection for BullMQ workers and blocking commands: BullMQ requires maxRetriesPerRequest null. */
  blocking?: boolean;
  connectionName?: string;
}

/**
 * The one place that builds Redis clients. Commands issued while Redis is
 * unreachable fail fast (offline queue off for non-blocking clients) so the API
 * can answer 503 instead of hanging; clients reconnect on their own.
 */
export function createRedis(config: Pick<Config, 'REDIS_URL'>, options: RedisConnectionOptions = {}): Redis {
  const base: RedisOptions = {
    lazyConnect: false,
    enableReadyCheck: true,
    connectionName: options.connectionName,
    retryStrategy: (times) => Math.min(50 * 2 ** Math.min(times, 6), 2000),
    reconnectOnError: (err) => err.message.startsWith('READONLY'),
  };
  if (options.blocking) {
    return new Redis(config.REDIS_URL, { ...base, maxRetriesPerRequest: null, enableOfflineQueue: true });
  }
  return new Redis(config.REDIS_URL, { ...base, maxRetriesPerRequest: 1, enableOfflineQueue: false });
}
