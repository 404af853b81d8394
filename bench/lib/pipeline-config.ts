/** One configuration of `pnpm bench:pipeline`, from its key (`on-2-stream-b8`, ...). */
export interface PipelineConfig {
  key: string;
  label: string;
  workers: number;
  batchMaxSize: number;
  workerEnv: NodeJS.ProcessEnv;
  /** async results: each job's SSE stream, or one GET /v1/events stream */
  events: 'per-job' | 'stream';
  /** images per async submission: 1 (POST /v1/jobs) or more (POST /v1/jobs/batch) */
  imagesPerRequest: number;
}

/**
 * `off|on[<max>]-<workers>[-stream[-b<images>]]`: batching off (BATCH_MAX_SIZE=1) or on (`batch`, or `<max>`
 * when given: `on4-2` caps batches at 4 in this configuration alone), the worker
 * processes (one ONNX Runtime thread each when several), results on each job's SSE stream or on one
 * `GET /v1/events` stream, and with `-b<images>` that many images per submission (POST /v1/jobs/batch).
 */
export function parsePipelineConfig(key: string, batch: number): PipelineConfig {
  const match = /^(off|on(\d+)?)-(\d+)(-stream)?(?:-b(\d+))?$/.exec(key);
  if (!match) throw new Error(`--configs takes off-<workers>, on-<workers> or on<batch max>-<workers>, optionally with -stream and then -b<images per submission>, not ${key}`);
  const events = match[4] ? 'stream' : 'per-job';
  const batching = match[1] !== 'off';
  const workers = Number(match[3]);
  if (!(workers >= 1)) throw new Error(`at least one worker: ${key}`);
  const imagesPerRequest = match[5] === undefined ? 1 : Number(match[5]);
  if (!(imagesPerRequest >= 1)) throw new Error(`at least one image per submission: ${key}`);
  if (imagesPerRequest > 1 && events !== 'stream') throw new Error(`batch submissions are followed on the one event stream (-stream-b<images>): ${key}`);
  const batchMaxSize = batching ? Number(match[2] ?? batch) : 1;
  if (!(batchMaxSize >= 1)) throw new Error(`a batch holds at least one job: ${key}`);
  const workerEnv: NodeJS.ProcessEnv = { BATCH_MAX_SIZE: String(batchMaxSize) };
  // Two processes on 2 cores: one ONNX Runtime thread each, or they fight over the cores.
  if (workers > 1) workerEnv.INTRA_OP_THREADS = '1';
  const label =
    `batch ${batching ? `≤${batchMaxSize}` : 'off (1)'}, ${workers} worker${workers > 1 ? 's' : ''}${workers > 1 ? ' × 1 thread' : ''}` +
    (events === 'stream' ? ', one event stream' : '') +
    (imagesPerRequest > 1 ? `, ${imagesPerRequest} images per submission` : '');
  return { key, label, workers, batchMaxSize, workerEnv, events, imagesPerRequest };
}
