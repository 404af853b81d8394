import type { Redis } from 'ioredis';
import type { Keys } from '../keys.js';

/**
 * Image bytes live in Redis beside the queue, never inside the job: jobs stay
 * small and the bytes expire on their own if a job is lost.
 */
export class BlobStore {
  constructor(
    private readonly redis: Redis,
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
    const pipeline = this.redis.pipeline();
    for (const key of keys) pipeline.unlink(key);
    await pipeline.exec();
  }
}
