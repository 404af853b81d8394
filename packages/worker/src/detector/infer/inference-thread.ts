/**
 * Entry of the inference thread. onnxruntime-node's session.run blocks the JS
 * thread for the whole inference, so it lives here and the main thread keeps
 * talking to Redis. Only onnxruntime is loaded in this thread (no sharp).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { isMaskqError } from '@maskq/shared';
import { createOrtSession, type InferenceSession } from './session.js';
import type { FromThread, InferenceThreadData, RunInput, ToThread } from './thread-messages.js';

const port = parentPort!;
const data = workerData as InferenceThreadData;
const send = (msg: FromThread, transfer: ArrayBuffer[] = []) => port.postMessage(msg, transfer);

let session: InferenceSession;
try {
  session = await createOrtSession({
    ...data.session,
    logger: {
      info: (obj, msg) => send({ type: 'log', level: 'info', obj, msg }),
      warn: (obj, msg) => send({ type: 'log', level: 'warn', obj, msg }),
    },
  });
  send({ type: 'ready', executionProvider: session.executionProvider });
} catch (err) {
  send({ type: 'start-failed', message: err instanceof Error ? err.message : String(err) });
  process.exit(1);
}

port.on('message', (msg: ToThread) => {
  if (msg.type === 'close') {
    void session.close().finally(() => port.close());
    return;
  }
  void run(msg);
});

/**
 * The main thread's shared batch tensors, by id (each arrives once), with a
 * local copy of the same size: onnxruntime-node refuses views of shared memory,
 * so the batch's rows are copied into the local buffer, which lives as long as
 * the thread (a copy of n images is ~0.1 ms each; no allocation per batch).
 */
const sharedTensors = new Map<number, { shared: Float32Array; local: Float32Array }>();
const imageElements = data.session.imageShape.reduce((a, b) => a * b, 1);

function tensorOf(input: RunInput, n: number): Float32Array {
  if (input.kind === 'transferred') return new Float32Array(input.buffer);
  if (input.buffer) {
    const shared = new Float32Array(input.buffer);
    sharedTensors.set(input.bufferId, { shared, local: new Float32Array(shared.length) });
  }
  const pair = sharedTensors.get(input.bufferId);
  if (!pair) throw new Error(`unknown shared tensor ${input.bufferId}`);
  const rows = Math.min(n * imageElements, pair.shared.length);
  pair.local.set(pair.shared.subarray(0, rows));
  return pair.local;
}

async function run({ id, input, n }: Extract<ToThread, { type: 'run' }>): Promise<void> {
  // A transferred buffer goes back with the answer; a shared one never left.
  const back = input.kind === 'transferred' ? { input: input.buffer } : {};
  const backTransfer = input.kind === 'transferred' ? [input.buffer] : [];
  try {
    const t0 = performance.now();
    const out = await session.run(tensorOf(input, n), n);
    const inferenceMs = performance.now() - t0;
    // ORT may own its output memory (not detachable): copy (~1.5 MB at batch 16), then transfer the copies.
    const loc = out.loc.slice();
    const cls = out.cls.slice();
    send({ type: 'result', id, loc, cls, ...back, inferenceMs }, [loc.buffer as ArrayBuffer, cls.buffer as ArrayBuffer, ...backTransfer]);
  } catch (err) {
    const typed = isMaskqError(err);
    send(
      {
        type: 'error',
        id,
        code: typed ? err.code : 'inference_failed',
        message: err instanceof Error ? err.message : String(err),
        retryable: typed ? err.retryable : true,
        ...back,
      },
      backTransfer,
    );
  }
}
