import { readFileSync } from 'node:fs';
import { Cluster, type Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError, createRedis, hashTagOf, isCluster, keySlot, loadConfig, redisMode, type RedisClient } from '@maskq/shared';

function problemsOf(env: Record<string, string>): string {
  try {
    loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems.join('\n');
    throw err;
  }
  return '';
}

describe('Redis topology config', () => {
  it('parses Sentinel and Cluster node lists', () => {
    const sentinel = loadConfig({ REDIS_SENTINELS: 's1:26379, s2:26379,[::1]:26380', REDIS_SENTINEL_NAME: 'mymaster', REDIS_SENTINEL_PASSWORD: 'sp' });
    expect(sentinel.REDIS_SENTINELS).toEqual([
      { host: 's1', port: 26379 },
      { host: 's2', port: 26379 },
      { host: '::1', port: 26380 },
    ]);
    expect(redisMode(sentinel)).toBe('sentinel');
    const cluster = loadConfig({ REDIS_CLUSTER_NODES: 'redis-0.redis:6379,redis-1.redis:6379', REDIS_TLS: 'true', REDIS_PASSWORD: 'pw', REDIS_USERNAME: 'maskq' });
    expect(cluster.REDIS_CLUSTER_NODES).toHaveLength(2);
    expect(redisMode(cluster)).toBe('cluster');
    expect(redisMode(loadConfig({}))).toBe('single');
    expect(loadConfig({}).REDIS_WAIT_REPLICAS).toBe(0);
  });

  it('refuses more than one topology, with a clear message', () => {
    expect(problemsOf({ REDIS_URL: 'redis://r:6379', REDIS_CLUSTER_NODES: 'a:1' })).toMatch(/set one Redis topology only.*REDIS_URL and REDIS_CLUSTER_NODES/);
    expect(problemsOf({ REDIS_SENTINELS: 'a:1', REDIS_SENTINEL_NAME: 'm', REDIS_CLUSTER_NODES: 'a:1' })).toMatch(/REDIS_SENTINELS and REDIS_CLUSTER_NODES/);
    // The default REDIS_URL does not count as a choice.
    expect(problemsOf({ REDIS_CLUSTER_NODES: 'a:1' })).toBe('');
  });

  it('refuses half a Sentinel setup and malformed node lists', () => {
    expect(problemsOf({ REDIS_SENTINELS: 'a:1' })).toMatch(/REDIS_SENTINEL_NAME: set REDIS_SENTINELS and REDIS_SENTINEL_NAME together/);
    expect(problemsOf({ REDIS_SENTINEL_NAME: 'm' })).toMatch(/REDIS_SENTINEL_NAME/);
    expect(problemsOf({ REDIS_SENTINEL_PASSWORD: 'x' })).toMatch(/only used with REDIS_SENTINELS/);
    expect(problemsOf({ REDIS_CLUSTER_NODES: 'a' })).toMatch(/REDIS_CLUSTER_NODES: a comma-separated list of host:port/);
    expect(problemsOf({ REDIS_CLUSTER_NODES: 'a:70000' })).toMatch(/REDIS_CLUSTER_NODES/);
    expect(problemsOf({ REDIS_WAIT_REPLICAS: '-1' })).toMatch(/REDIS_WAIT_REPLICAS/);
  });
});

describe('createRedis', () => {
  const made: RedisClient[] = [];
  const make = (env: Record<string, string>, blocking = false) => {
    const client = createRedis(loadConfig(env), { blocking, connectionName: 'maskq-test' });
    client.on('error', () => undefined);
    made.push(client);
    return client;
  };
  afterEach(() => {
    for (const client of made.splice(0)) client.disconnect();
  });

  it('builds a Cluster client for REDIS_CLUSTER_NODES, with credentials and BullMQ-safe blocking options', () => {
    const client = make({ REDIS_CLUSTER_NODES: '127.0.0.1:1,127.0.0.1:2', REDIS_USERNAME: 'u', REDIS_PASSWORD: 'p' }, true);
    expect(client).toBeInstanceOf(Cluster);
    expect(isCluster(client)).toBe(true);
    const options = (client as Cluster).options;
    expect(options.redisOptions).toMatchObject({ username: 'u', password: 'p', maxRetriesPerRequest: null, connectionName: 'maskq-test' });
    expect(options.enableAutoPipelining).toBe(false);
    const fast = make({ REDIS_CLUSTER_NODES: '127.0.0.1:1' }) as Cluster;
    expect(fast.options).toMatchObject({ enableOfflineQueue: false, enableAutoPipelining: true });
  });

  it('builds a Sentinel client for REDIS_SENTINELS, with TLS and a CA file when asked', () => {
    const client = make({
      REDIS_SENTINELS: '127.0.0.1:1',
      REDIS_SENTINEL_NAME: 'mymaster',
      REDIS_SENTINEL_PASSWORD: 'sp',
      REDIS_TLS: 'true',
      REDIS_TLS_CA_FILE: '/etc/hostname',
    }) as Redis;
    expect(isCluster(client)).toBe(false);
    expect(client.options).toMatchObject({ name: 'mymaster', sentinelPassword: 'sp', enableTLSForSentinelMode: true, failoverDetector: true, enableOfflineQueue: false });
    expect(client.options.sentinels).toEqual([{ host: '127.0.0.1', port: 1 }]);
    expect(client.options.tls).toEqual({ ca: readFileSync('/etc/hostname') });
  });

  it('builds a one-node client from REDIS_URL; explicit credentials win, rediss:// means TLS', () => {
    const client = make({ REDIS_URL: 'rediss://olduser:oldpw@127.0.0.1:1/2', REDIS_PASSWORD: 'newpw' }) as Redis;
    expect(client.options).toMatchObject({ host: '127.0.0.1', port: 1, db: 2, username: 'olduser', password: 'newpw' });
    expect(client.options.tls).toEqual({});
    const plain = make({}) as Redis;
    expect(plain.options.tls).toBeUndefined();
  });
});

describe('keySlot', () => {
  it('matches the slots Redis computes (CRC16 mod 16384) and honours hash tags', () => {
    // Values from the Redis Cluster specification / CLUSTER KEYSLOT.
    expect(keySlot('foo')).toBe(12182);
    expect(keySlot('bar')).toBe(5061);
    expect(keySlot('hello')).toBe(866);
    expect(keySlot('{user1000}.following')).toBe(keySlot('{user1000}.followers'));
    expect(hashTagOf('foo{}{bar}')).toBe('foo{}{bar}');
    expect(hashTagOf('foo{{bar}}zap')).toBe('{bar');
    expect(hashTagOf('{maskq}:detect:wait')).toBe('maskq');
  });
});
