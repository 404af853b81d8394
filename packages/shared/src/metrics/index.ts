export * from './registry.js';
export * from './buckets.js';
export * from './http-metrics.js';
export * from './api-metrics.js';
export * from './queue-metrics.js';
export * from './worker-metrics.js';
export * from './webhook-metrics.js';
export * from './serve.js';
