import { readFileSync } from 'node:fs';
import type { ConnectionOptions as TlsOptions } from 'node:tls';
import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
import type { Config } from '../config/schema.js';

/** What every Redis consumer takes: one node (direct or through Sentinel) or a Cluster. */
export type RedisClient = Redis | Cluster;

export type RedisTopologyConfig = Pick<
  Config,
  | 'REDIS_URL'
  | 'REDIS_SENTINELS'
  | 'REDIS_SENTINEL_NAME'
  | 'REDIS_SENTINEL_PASSWORD'
  | 'REDIS_CLUSTER_NODES'
  | 'REDIS_TLS'
  | 'REDIS_TLS_CA_FILE'
  | 'REDIS_USERNAME'
  | 'REDIS_PASSWORD'
>;

export type RedisMode = 'single' | 'sentinel' | 'cluster';

export interface RedisConnectionOptions {
  /** Connection for BullMQ workers and blocking commands: BullMQ requires maxRetriesPerRequest null. */
  blocking?: boolean;
  connectionName?: string;
}

/** Which topology the config names (loadConfig has already refused more than one). */
export function redisMode(config: Partial<RedisTopologyConfig>): RedisMode {
  if (config.REDIS_CLUSTER_NODES) return 'cluster';
  if (config.REDIS_SENTINELS) return 'sentinel';
  return 'single';
}

export function isCluster(client: RedisClient): client is Cluster {
  return (client as Cluster).isCluster === true;
}

function tlsOptions(config: Partial<RedisTopologyConfig>): TlsOptions | undefined {
  const wantTls = config.REDIS_TLS === true || (redisMode(config) === 'single' && config.REDIS_URL?.startsWith('rediss://'));
  if (!wantTls) return undefined;
  return config.REDIS_TLS_CA_FILE ? { ca: readFileSync(config.REDIS_TLS_CA_FILE) } : {};
}

/**
 * The one place that builds Redis clients, for every topology: one node
 * (REDIS_URL), a Sentinel-watched master (REDIS_SENTINELS) or a Cluster
 * (REDIS_CLUSTER_NODES). Commands issued while Redis is unreachable fail fast
 * (offline queue off for non-blocking clients) so the API can answer 503
 * instead of hanging; clients reconnect, follow failovers and re-read the
 * cluster's slot map on their own.
 */
export function createRedis(config: Partial<RedisTopologyConfig>, options: RedisConnectionOptions = {}): RedisClient {
  const tls = tlsOptions(config);
  const perCommand: RedisOptions = options.blocking
    ? { maxRetriesPerRequest: null, enableOfflineQueue: true }
    : { maxRetriesPerRequest: 1, enableOfflineQueue: false };
  const node: RedisOptions = {
    enableReadyCheck: true,
    connectionName: options.connectionName,
    // Explicit credentials win over the URL's (so the URL can stay secret-free).
    ...(config.REDIS_USERNAME !== undefined ? { username: config.REDIS_USERNAME } : {}),
    ...(config.REDIS_PASSWORD !== undefined ? { password: config.REDIS_PASSWORD } : {}),
    ...(tls ? { tls } : {}),
    retryStrategy: (times) => Math.min(50 * 2 ** Math.min(times, 6), 2000),
    // After a failover the old master turns replica: writes get READONLY; reconnect to find the new master.
    reconnectOnError: (err) => (err.message.startsWith('READONLY') ? 2 : false),
  };

  const mode = redisMode(config);
  if (mode === 'cluster') {
    // Per-node options; reconnects and the offline queue are the Cluster's own (below).
    const { retryStrategy: _retry, ...nodeOptions } = node;
    void _retry;
    const clusterOptions: ClusterOptions = {
      redisOptions: { ...nodeOptions, maxRetriesPerRequest: perCommand.maxRetriesPerRequest },
      enableOfflineQueue: perCommand.enableOfflineQueue,
      enableReadyCheck: true,
      // Commands to one node issued in the same tick share a round trip (BlobStore relies on it).
      enableAutoPipelining: !options.blocking,
      // Follow MOVED/ASK and TRYAGAIN during resharding and failover for a few seconds, then fail.
      maxRedirections: 16,
      retryDelayOnFailover: 200,
      retryDelayOnClusterDown: 200,
      retryDelayOnTryAgain: 100,
      slotsRefreshTimeout: 2000,
      clusterRetryStrategy: (times) => Math.min(100 * 2 ** Math.min(times, 5), 2000),
      // TLS certificates name the host we were given, not the IP the cluster announces.
      ...(tls ? { dnsLookup: (address, callback) => callback(null, address) } : {}),
    };
    return new Cluster(config.REDIS_CLUSTER_NODES!, clusterOptions);
  }
  if (mode === 'sentinel') {
    return new Redis({
      ...node,
      ...perCommand,
      sentinels: config.REDIS_SENTINELS!,
      name: config.REDIS_SENTINEL_NAME!,
      ...(config.REDIS_SENTINEL_PASSWORD !== undefined ? { sentinelPassword: config.REDIS_SENTINEL_PASSWORD } : {}),
      ...(tls ? { enableTLSForSentinelMode: true, sentinelTLS: tls } : {}),
      // Subscribe to +switch-master so a failover is followed at once, not on the next error.
      failoverDetector: true,
      sentinelRetryStrategy: (times) => Math.min(100 * 2 ** Math.min(times, 5), 2000),
    });
  }
  return new Redis(urlWithCredentials(config), { ...node, ...perCommand });
}

/** ioredis lets the URL's user and password win over options; explicit ones must win, so they go into the URL. */
function urlWithCredentials(config: Partial<RedisTopologyConfig>): string {
  const url = new URL(config.REDIS_URL ?? 'redis://127.0.0.1:6379');
  if (config.REDIS_USERNAME !== undefined) url.username = encodeURIComponent(config.REDIS_USERNAME);
  if (config.REDIS_PASSWORD !== undefined) url.password = encodeURIComponent(config.REDIS_PASSWORD);
  return url.toString();
}
