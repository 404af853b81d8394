/**
 * Entry of the inference thread. onnxruntime-node's session.run blocks the JS
 * thread for the whole inference, so it lives here and the main thread keeps
 * talking to Redis. Only onnxruntime is loaded in this thread (no sharp).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { isMaskqError } from '@maskq/shared';
import { createOrtSession, type InferenceSession } from '../detector/infer/session.js';
import type { FromThread, InferenceThreadData, ToThread } from './messages.js';

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

async function run({ id, input, n }: Extract<ToThread, { type: 'run' }>): Promise<void> {
  try {
    const t0 = performance.now();
    const out = await session.run(new Float32Array(input), n);
    const inferenceMs = performance.now() - t0;
    // ORT may own its output memory (not detachable): copy (~1.5 MB at batch 16), then transfer the copies.
    const loc = out.loc.slice();
    const cls = out.cls.slice();
    send({ type: 'result', id, loc, cls, input, inferenceMs }, [loc.buffer as ArrayBuffer, cls.buffer as ArrayBuffer, input]);
  } catch (err) {
    const typed = isMaskqError(err);
    send(
      {
        type: 'error',
        id,
        code: typed ? err.code : 'inference_failed',
        message: err instanceof Error ? err.message : String(err),
        retryable: typed ? err.retryable : true,
        input,
      },
      [input],
    );
  }
}
