import type { Redis } from 'ioredis';
import { isCluster, type RedisClient } from './connection.js';
import { keySlot } from './key-slot.js';

/**
 * The connections that wrote `keys`: the client itself on one node, or, on a
 * Cluster, the master connection of each slot the keys hash to (the very
 * connections the Cluster client used, so WAIT covers those writes).
 */
export function writersOf(client: RedisClient, keys: string[]): Redis[] {
  if (!isCluster(client)) return [client];
  const masters = new Map(client.nodes('master').map((node) => [`${node.options.host}:${node.options.port}`, node]));
  const writers = new Set<Redis>();
  for (const key of keys) {
    const owner = client.slots[keySlot(key)]?.[0];
    const node = owner ? masters.get(owner) : undefined;
    if (!node) throw new Error(`no master known for key slot ${keySlot(key)} (cluster slot map not loaded)`);
    writers.add(node);
  }
  return [...writers];
}

/**
 * `WAIT replicas timeoutMs` on every connection that wrote `keys`; resolves to
 * the smallest number of replicas that acknowledged (Redis' WAIT semantics:
 * every write issued on that connection before the WAIT).
 */
export async function waitForReplicas(client: RedisClient, keys: string[], replicas: number, timeoutMs: number): Promise<number> {
  const acks = await Promise.all(writersOf(client, keys).map((node) => node.call('WAIT', replicas, timeoutMs) as Promise<number>));
  return Math.min(...acks);
}
