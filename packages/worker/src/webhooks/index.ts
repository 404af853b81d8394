export * from './backoff.js';
export * from './dispatcher.js';
export * from './http-post.js';
