/** A zeroed float32 tensor in shared memory: the inference thread reads it in place. */
export function sharedTensor(elements: number): Float32Array {
  return new Float32Array(new SharedArrayBuffer(elements * Float32Array.BYTES_PER_ELEMENT));
}

/**
 * Batch tensors are large (16 × 3 × 260 × 260 floats ≈ 13 MB); two are enough
 * for one batch in flight plus one being prepared, so they are reused instead
 * of allocated per batch. They live in shared memory, so handing one to the
 * inference thread moves no bytes and allocates nothing: a transferred 13 MB
 * ArrayBuffer counts as a new external allocation in each thread it reaches,
 * and that alone kept V8 running full garbage collections several times a second.
 */
export class TensorPool {
  private readonly free: Float32Array[] = [];
  private readonly waiters: Array<(tensor: Float32Array) => void> = [];

  constructor(
    private readonly elements: number,
    size: number,
  ) {
    for (let i = 0; i < size; i++) this.free.push(sharedTensor(elements));
  }

  acquire(): Promise<Float32Array> {
    const tensor = this.free.pop();
    if (tensor) return Promise.resolve(tensor);
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  release(tensor: Float32Array): void {
    // A buffer that was transferred away (not shared) and lost is replaced by a fresh one.
    const usable = tensor.length === this.elements ? tensor : sharedTensor(this.elements);
    const waiter = this.waiters.shift();
    if (waiter) waiter(usable);
    else this.free.push(usable);
  }
}
