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

  it('replaces a buffer that was transferred away and never came back', async () => {
    const pool = new TensorPool(12, 1);
    const t = await pool.acquire();
    structuredClone(t.buffer, { transfer: [t.buffer as ArrayBuffer] }); // detaches it, as a crashed thread would leave it
    expect(t.length).toBe(0);
    pool.release(t);
    expect((await pool.acquire()).length).toBe(12);
  });
});
