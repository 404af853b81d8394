/**
 * Batch tensors are large (16 × 3 × 260 × 260 floats ≈ 13 MB); two are enough
 * for one batch in flight plus one being prepared, so they are reused instead
 * of allocated per batch. Buffers travel to the inference thread and back, so
 * a released buffer may be a different object than the one acquired.
 */
export class TensorPool {
  private readonly free: Float32Array[] = [];
  private readonly waiters: Array<(tensor: Float32Array) => void> = [];

  constructor(
    private readonly elements: number,
    size: number,
  ) {
    for (let i = 0; i < size; i++) this.free.push(new Float32Array(elements));
  }

  acquire(): Promise<Float32Array> {
    const tensor = this.free.pop();
    if (tensor) return Promise.resolve(tensor);
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  release(tensor: Float32Array): void {
    // A buffer lost with a crashed inference thread is replaced by a fresh one.
    const usable = tensor.length === this.elements ? tensor : new Float32Array(this.elements);
    const waiter = this.waiters.shift();
    if (waiter) waiter(usable);
    else this.free.push(usable);
  }
}
