/** Histogram buckets in seconds, shared so panels and alerts compare like with like. */

/** HTTP handlers: sub-millisecond to the 10 s sync endpoint timeout. */
export const httpDurationBuckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** End-to-end job latency and queue wait: milliseconds (idle) to minutes (backlog). */
export const jobLatencyBuckets = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600];

/** One batch's preprocess or inference step. */
export const stageDurationBuckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

/** Jobs per batch (BATCH_MAX_SIZE is at most 256; the default is 16). */
export const batchSizeBuckets = [1, 2, 4, 8, 16, 32, 64];

/** Detection confidence (0..1). The model's default threshold is 0.5. */
export const confidenceBuckets = [0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95, 0.98, 0.99, 1];

/** One webhook POST, bounded by its request timeout. */
export const webhookDurationBuckets = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
