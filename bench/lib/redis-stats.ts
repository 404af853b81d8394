import { Redis } from 'ioredis';
import { freePort, ManagedProcess, waitUntilReady } from './processes.js';

/** `key:value` lines of an INFO reply (section headers and blank lines skipped). */
export function parseInfoFields(info: string): Map<string, string> {
  const fields = new Map<string, string>();
  for (const raw of info.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const colon = line.indexOf(':');
    if (colon > 0) fields.set(line.slice(0, colon), line.slice(colon + 1));
  }
  return fields;
}

/**
 * Calls per command from `INFO commandstats` (`cmdstat_evalsha:calls=3,usec=...`), lower case;
 * subcommands keep their `|` form (`client|setname`).
 */
export function parseCommandStats(info: string): Map<string, number> {
  const calls = new Map<string, number>();
  for (const [key, value] of parseInfoFields(info)) {
    if (!key.startsWith('cmdstat_')) continue;
    const n = /(?:^|,)calls=(\d+)/.exec(value)?.[1];
    if (n !== undefined) calls.set(key.slice('cmdstat_'.length).toLowerCase(), Number(n));
  }
  return calls;
}

/** after − before per command, commands with no new calls left out, most calls first. */
export function commandDelta(after: Map<string, number>, before: Map<string, number>): Array<{ command: string; calls: number }> {
  return [...after.entries()]
    .map(([command, n]) => ({ command, calls: n - (before.get(command) ?? 0) }))
    .filter((c) => c.calls > 0)
    .sort((a, b) => b.calls - a.calls || a.command.localeCompare(b.command));
}

/** What one snapshot of a Redis server's counters holds. */
export interface RedisCounters {
  commands: Map<string, number>;
  totalCommands: number;
  /** connections accepted so far */
  connections: number;
  netInputBytes: number;
  netOutputBytes: number;
}

/** Reads the counters; the INFO calls themselves show up in the next snapshot as `info` (2 calls). */
export async function redisCounters(redis: Redis): Promise<RedisCounters> {
  const [commandstats, stats] = await Promise.all([redis.info('commandstats'), redis.info('stats')]);
  const fields = parseInfoFields(stats);
  const num = (k: string): number => Number(fields.get(k) ?? Number.NaN);
  return {
    commands: parseCommandStats(commandstats),
    totalCommands: num('total_commands_processed'),
    connections: num('total_connections_received'),
    netInputBytes: num('total_net_input_bytes'),
    netOutputBytes: num('total_net_output_bytes'),
  };
}

/** A private redis-server (no persistence) on a free port, so its counters are only ours. */
export async function startRedisServer(): Promise<{ url: string; stop: () => Promise<void> }> {
  const port = await freePort();
  const server = new ManagedProcess({
    name: 'redis-server',
    command: process.env.REDIS_SERVER ?? 'redis-server',
    args: ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no'],
  });
  const url = `redis://127.0.0.1:${port}`;
  await waitUntilReady(
    'redis-server',
    async () => {
      const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
      redis.on('error', () => {});
      try {
        await redis.connect();
        return (await redis.ping()) === 'PONG';
      } finally {
        redis.disconnect();
      }
    },
    [server],
    15_000,
  );
  return { url, stop: () => server.stop() };
}
