import { describe, expect, it } from 'vitest';
import { TensorPool } from '../src/pipeline/tensor-pool.js';

describe('TensorPool', () => {
  it('hands out at most its size, and a release wakes the next waiter', async () => {
    const pool = new TensorPool(12, 2);
    const a = await pool.acquire();
    const b = await pool.acquire();
    expect(a).not.toBe(b);
    let third: Float32Array | undefined;
    const waiting = pool.acquire().then((t) => (third = t));
    await new Promise((r) => setImmediate(r));
    expect(third).toBeUndefined();
    pool.release(a);
    await waiting;
    expect(third).toBe(a);
  });

  it('hands out tensors in shared memory (nothing to transfer) and replaces one that came back unusable', async () => {
    const pool = new TensorPool(12, 1);
    const t = await pool.acquire();
    expect(t.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(t.length).toBe(12);
    pool.release(new Float32Array(0)); // e.g. a transferred buffer lost with a crashed thread
    const fresh = await pool.acquire();
    expect(fresh.length).toBe(12);
    expect(fresh.buffer).toBeInstanceOf(SharedArrayBuffer);
  });
});
