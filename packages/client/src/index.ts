export * from './core.js';
export { verifyWebhook } from './webhook.js';
