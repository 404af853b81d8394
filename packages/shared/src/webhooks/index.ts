export * from './signing.js';
export * from './ssrf.js';
export * from './state.js';
export * from './webhook-queue.js';
