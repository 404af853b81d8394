import type { Keys } from '../keys.js';
import { isCluster, type RedisClient } from '../redis/connection.js';

/**
 * Image bytes live in Redis beside the queue, never inside the job: jobs stay
 * small and the bytes expire on their own if a job is lost.
 *
 * Batches are one round trip on one node (a pipeline). On a Cluster a pipeline
 * may only touch one node's slots, and blob keys spread over all masters by
 * design, so there each key is its own command, issued together: the Cluster
 * client (enableAutoPipelining) sends them as one pipeline per node.
 */
export class BlobStore {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: Keys,
    private readonly ttlSeconds: number,
  ) {}

  keyFor(jobId: string): string {
    return this.keys.blob(jobId);
  }

  async put(jobId: string, bytes: Buffer): Promise<string> {
    const key = this.keys.blob(jobId);
    await this.redis.set(key, bytes, 'EX', this.ttlSeconds);
    return key;
  }

  /** One round trip for many images (a batch upload). */
  async putMany(entries: Array<{ jobId: string; bytes: Buffer }>): Promise<string[]> {
    if (entries.length === 0) return [];
    if (isCluster(this.redis)) return Promise.all(entries.map(({ jobId, bytes }) => this.put(jobId, bytes)));
    const pipeline = this.redis.pipeline();
    const keys = entries.map(({ jobId, bytes }) => {
      const key = this.keys.blob(jobId);
      pipeline.set(key, bytes, 'EX', this.ttlSeconds);
      return key;
    });
    const results = await pipeline.exec();
    const failed = results?.find(([err]) => err);
    if (failed?.[0]) throw failed[0];
    return keys;
  }

  /** One round trip for a whole batch; a missing (expired) blob comes back as null. */
  async getMany(keys: string[]): Promise<Array<Buffer | null>> {
    if (keys.length === 0) return [];
    if (isCluster(this.redis)) {
      const cluster = this.redis;
      return Promise.all(keys.map((key) => cluster.getBuffer(key)));
    }
    const pipeline = this.redis.pipeline();
    for (const key of keys) pipeline.getBuffer(key);
    const results = (await pipeline.exec()) ?? [];
    return results.map(([err, value]) => {
      if (err) throw err;
      return (value as Buffer | null) ?? null;
    });
  }

  async delete(keys: string[]): Promise<void> {
    if (keys.length === 0) return;
    // UNLINK one key per command so keys in different cluster slots never share a command.
    if (isCluster(this.redis)) {
      const cluster = this.redis;
      await Promise.all(keys.map((key) => cluster.unlink(key)));
      return;
    }
    const pipeline = this.redis.pipeline();
    for (const key of keys) pipeline.unlink(key);
    await pipeline.exec();
  }
}
