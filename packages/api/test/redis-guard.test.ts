import { describe, expect, it } from 'vitest';
import { ReplyError } from 'ioredis';
import { isRedisUnavailable, withRedis } from '../src/errors/redis-guard.js';
import { HttpError } from '../src/errors/http-error.js';

describe('isRedisUnavailable', () => {
  // Messages as ioredis and Redis word them (connection loss, Sentinel failover, Cluster resharding).
  it.each([
    "Stream isn't writeable and enableOfflineQueue options is false",
    'Connection is closed.',
    'connect ECONNREFUSED 127.0.0.1:6379',
    'READONLY You can\'t write against a read only replica.',
    'LOADING Redis is loading the dataset in memory',
    'CLUSTERDOWN The cluster is down',
    'MOVED 3999 127.0.0.1:30002',
    'ASK 3999 127.0.0.1:30002',
    'TRYAGAIN Multiple keys request during rehashing of slot',
    'NOREPLICAS Not enough good replicas to write.',
    "Cluster isn't ready and enableOfflineQueue options is false",
    'Failed to refresh slots cache.',
    'Too many Cluster redirections. Last error: MOVED 1 127.0.0.1:1',
    'None of startup nodes is available',
    'All sentinels are unreachable. Retrying from scratch after 10ms.',
    'Command timed out',
  ])('%s: unavailable (503, retry later)', (message) => {
    expect(isRedisUnavailable(new ReplyError(message))).toBe(true);
  });

  it.each([
    'ERR wrong number of arguments for \'hset\' command',
    'WRONGTYPE Operation against a key holding the wrong kind of value',
    'NOSCRIPT No matching script',
    'job abc not found',
  ])('%s: not a connection problem (stays a 500)', (message) => {
    expect(isRedisUnavailable(new ReplyError(message))).toBe(false);
    expect(isRedisUnavailable(message)).toBe(false);
  });

  it('withRedis turns a connection problem into 503 unavailable and passes other errors through', async () => {
    const unavailable = await withRedis(1000, () => Promise.reject(new ReplyError('MOVED 1 127.0.0.1:1'))).catch((e: unknown) => e);
    expect(unavailable).toBeInstanceOf(HttpError);
    expect(unavailable).toMatchObject({ status: 503, code: 'unavailable' });
    const other = new Error('boom');
    await expect(withRedis(1000, () => Promise.reject(other))).rejects.toBe(other);
    const late = await withRedis(20, () => new Promise(() => undefined)).catch((e: unknown) => e);
    expect(late).toMatchObject({ status: 503, code: 'unavailable' });
  });
});
