// The browser-safe part of the client (no node: imports): what packages/web uses.
export { MaskqClient, type ImageInput, type MaskqClientOptions, type SubmitOptions, type WaitOptions } from './client.js';
export { MaskqApiError, MaskqTimeoutError, WebhookVerificationError } from './errors.js';
export { readServerSentEvents, SseParser, type ServerSentEvent } from './sse.js';
export * from './types.js';
