/**
 * Real Redis topologies for tests: `redis-server` processes on free loopback
 * ports, each in its own temp dir, always stopped by `stop()` (call it in
 * afterAll). No persistence: these servers live for one test file.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';

const run = promisify(execFile);
const host = '127.0.0.1';

export interface RedisProcess {
  port: number;
  address: string;
  readonly process: ChildProcess;
  /** SIGKILL (a crash), and wait until the process is gone. */
  kill(): Promise<void>;
  /** Starts it again, same port and config (as a supervisor would after a crash); data is gone (no persistence). */
  restart(extraArgs?: string[]): Promise<void>;
  alive(): boolean;
  /** The last lines it printed (sentinel events such as +sdown, +odown, +tilt, +switch-master): for failure messages. */
  log(): string;
}

/** Whether `redis-server` exists; tests skip with a reason otherwise. */
export async function redisServerVersion(): Promise<string | undefined> {
  try {
    const { stdout } = await run('redis-server', ['--version']);
    return /v=(\S+)/.exec(stdout)?.[1];
  } catch {
    return undefined;
  }
}

async function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, host, () => server.close(() => resolve(true)));
  });
}

const taken = new Set<number>();
/** A free loopback port (and, for cluster nodes, port + 10000 for the cluster bus). */
async function freePort(withBus = false): Promise<number> {
  for (let i = 0; i < 200; i++) {
    const port = 20000 + Math.floor(Math.random() * 20000);
    if (taken.has(port)) continue;
    if (!(await portIsFree(port))) continue;
    if (withBus && !(await portIsFree(port + 10000))) continue;
    taken.add(port);
    return port;
  }
  throw new Error('no free port');
}

async function waitUntil(what: string, check: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const start = Date.now();
  for (;;) {
    if (await check().catch(() => false)) return;
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function redisCli(port: number, ...args: string[]): Promise<string> {
  const { stdout } = await run('redis-cli', ['-h', host, '-p', String(port), ...args]);
  return stdout.trim();
}

class Topology {
  readonly dir = mkdtempSync(join(tmpdir(), 'maskq-redis-'));
  readonly processes: RedisProcess[] = [];

  /** Starts `redis-server <conf>` (extra args, e.g. `--sentinel`) and waits for PING. */
  async start(name: string, conf: string[], extraArgs: string[] = [], port?: number): Promise<RedisProcess> {
    const p = port ?? (await freePort());
    const nodeDir = mkdtempSync(join(this.dir, `${name}-${p}-`));
    const confFile = join(nodeDir, 'redis.conf');
    writeFileSync(
      confFile,
      [`port ${p}`, `bind ${host}`, `dir ${nodeDir}`, 'save ""', 'appendonly no', 'protected-mode no', 'loglevel warning', ...conf].join('\n') + '\n',
    );
    let child!: ChildProcess;
    let exited!: Promise<void>;
    let alive = false;
    let log = '';
    const launch = async (more: string[] = []) => {
      child = spawn('redis-server', [confFile, ...extraArgs, ...more], { stdio: ['ignore', 'pipe', 'pipe'] });
      alive = true;
      child.stdout!.on('data', (d: Buffer) => (log = (log + d.toString()).slice(-4000)));
      child.stderr!.on('data', (d: Buffer) => (log = (log + d.toString()).slice(-4000)));
      exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      void exited.then(() => (alive = false));
      try {
        await waitUntil(`redis-server on ${p}`, async () => (await redisCli(p, 'PING')) === 'PONG', 10_000);
      } catch (err) {
        throw new Error(`${(err as Error).message}\n${log}`, { cause: err });
      }
    };
    const proc: RedisProcess = {
      port: p,
      address: `${host}:${p}`,
      get process() {
        return child;
      },
      alive: () => alive,
      log: () => log,
      async kill() {
        if (alive) child.kill('SIGKILL');
        await exited;
      },
      async restart(more?: string[]) {
        await proc.kill();
        await launch(more);
      },
    };
    this.processes.push(proc);
    await launch();
    return proc;
  }

  async stop(): Promise<void> {
    await Promise.all(this.processes.map((p) => p.kill()));
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export interface RedisClusterTopology {
  masters: RedisProcess[];
  /** `host:port,host:port,...`: the REDIS_CLUSTER_NODES value. */
  nodesEnv: string;
  /** Which master (address) serves `slot`, from CLUSTER SLOTS. */
  masterOfSlot(slot: number): Promise<string>;
  stop(): Promise<void>;
}

/** A Redis Cluster of `masters` masters, no replicas, all 16384 slots assigned and cluster_state:ok. */
export async function startRedisCluster(masters = 3): Promise<RedisClusterTopology> {
  const topology = new Topology();
  try {
    const ports = await Promise.all(Array.from({ length: masters }, () => freePort(true)));
    const nodes = await Promise.all(
      ports.map((port, i) =>
        topology.start(`cluster-${i}`, ['cluster-enabled yes', 'cluster-config-file nodes.conf', 'cluster-node-timeout 2000'], [], port),
      ),
    );
    await run('redis-cli', ['--cluster', 'create', ...nodes.map((n) => n.address), '--cluster-replicas', '0', '--cluster-yes']);
    for (const node of nodes) {
      await waitUntil('cluster_state:ok', async () => (await redisCli(node.port, 'CLUSTER', 'INFO')).includes('cluster_state:ok'));
    }
    const probe = new Redis(nodes[0]!.port, host);
    return {
      masters: nodes,
      nodesEnv: nodes.map((n) => n.address).join(','),
      async masterOfSlot(slot) {
        const ranges = (await probe.call('CLUSTER', 'SLOTS')) as Array<[number, number, [string, number, ...unknown[]]]>;
        const range = ranges.find(([from, to]) => slot >= from && slot <= to);
        if (!range) throw new Error(`slot ${slot} unassigned`);
        return `${range[2][0]}:${range[2][1]}`;
      },
      async stop() {
        probe.disconnect();
        await topology.stop();
      },
    };
  } catch (err) {
    await topology.stop();
    throw err;
  }
}

export interface RedisSentinelTopology {
  masterName: string;
  master: RedisProcess;
  replica: RedisProcess;
  sentinels: RedisProcess[];
  /** `host:port,...` of the sentinels: the REDIS_SENTINELS value. */
  sentinelsEnv: string;
  /** The master address the sentinels currently report. */
  currentMaster(): Promise<string>;
  stop(): Promise<void>;
}

/**
 * One master, one replica and three sentinels (quorum 2), with small timeouts
 * (down-after 1000 ms, failover-timeout 3000 ms) so a failover takes seconds.
 */
export async function startRedisSentinel(masterName = 'maskq'): Promise<RedisSentinelTopology> {
  const topology = new Topology();
  try {
    // No 5 s wait before a full sync (the default): a restarted node catches up at once.
    const replication = ['repl-diskless-sync-delay 0'];
    const master = await topology.start('master', replication);
    const replica = await topology.start('replica', [...replication, `replicaof ${host} ${master.port}`]);
    await waitUntil('replica in sync', async () => (await redisCli(replica.port, 'INFO', 'replication')).includes('master_link_status:up'));
    const sentinels: RedisProcess[] = [];
    for (let i = 0; i < 3; i++) {
      sentinels.push(
        await topology.start(
          `sentinel-${i}`,
          [
            `sentinel monitor ${masterName} ${host} ${master.port} 2`,
            `sentinel down-after-milliseconds ${masterName} 1000`,
            `sentinel failover-timeout ${masterName} 3000`,
            `sentinel parallel-syncs ${masterName} 1`,
          ],
          ['--sentinel'],
        ),
      );
    }
    const currentMaster = async () => {
      for (const s of sentinels) {
        if (!s.alive()) continue;
        const out = await redisCli(s.port, 'SENTINEL', 'get-master-addr-by-name', masterName).catch(() => '');
        const [h, p] = out.split('\n');
        if (h && p) return `${h}:${p}`;
      }
      throw new Error('no sentinel answers');
    };
    // Every sentinel must know the replica and the other sentinels before a failover can be agreed.
    for (const s of sentinels) {
      await waitUntil('sentinels see each other and the replica', async () => {
        const info = await redisCli(s.port, 'SENTINEL', 'master', masterName);
        const field = (name: string) => {
          const lines = info.split('\n');
          return Number(lines[lines.indexOf(name) + 1]);
        };
        return field('num-slaves') >= 1 && field('num-other-sentinels') >= 2;
      });
    }
    return {
      masterName,
      master,
      replica,
      sentinels,
      sentinelsEnv: sentinels.map((s) => s.address).join(','),
      currentMaster,
      stop: () => topology.stop(),
    };
  } catch (err) {
    await topology.stop();
    throw err;
  }
}
