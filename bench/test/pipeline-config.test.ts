import { describe, expect, it } from 'vitest';
import { parsePipelineConfig } from '../lib/pipeline-config.js';

describe('bench:pipeline configuration keys', () => {
  it('reads batching, workers, the event stream and images per submission', () => {
    const single = parsePipelineConfig('off-1', 16);
    expect(single).toMatchObject({ workers: 1, batchMaxSize: 1, events: 'per-job', imagesPerRequest: 1 });
    expect(single.workerEnv).toEqual({ BATCH_MAX_SIZE: '1' });

    const batched = parsePipelineConfig('on-2-stream-b8', 16);
    expect(batched).toMatchObject({ key: 'on-2-stream-b8', workers: 2, batchMaxSize: 16, events: 'stream', imagesPerRequest: 8 });
    expect(batched.workerEnv).toEqual({ BATCH_MAX_SIZE: '16', INTRA_OP_THREADS: '1' });
    expect(batched.label).toBe('batch ≤16, 2 workers × 1 thread, one event stream, 8 images per submission');
    expect(parsePipelineConfig('on-2-stream', 16).label).toBe('batch ≤16, 2 workers × 1 thread, one event stream');
  });

  it('takes a batch cap for one configuration, whatever --batch says', () => {
    const capped = parsePipelineConfig('on4-2-stream-b8', 16);
    expect(capped).toMatchObject({ workers: 2, batchMaxSize: 4, imagesPerRequest: 8 });
    expect(capped.workerEnv).toEqual({ BATCH_MAX_SIZE: '4', INTRA_OP_THREADS: '1' });
    expect(capped.label).toBe('batch ≤4, 2 workers × 1 thread, one event stream, 8 images per submission');
    expect(parsePipelineConfig('on-2', 8).batchMaxSize).toBe(8);
  });

  it('refuses keys it cannot run', () => {
    expect(() => parsePipelineConfig('on-2-b8', 16)).toThrow(/event stream/);
    expect(() => parsePipelineConfig('on-0', 16)).toThrow(/at least one worker/);
    expect(() => parsePipelineConfig('on-2-stream-b0', 16)).toThrow(/at least one image/);
    expect(() => parsePipelineConfig('fast', 16)).toThrow(/--configs takes/);
    expect(() => parsePipelineConfig('on0-2', 16)).toThrow(/at least one job/);
    expect(() => parsePipelineConfig('off4-2', 16)).toThrow(/--configs takes/);
  });
});
