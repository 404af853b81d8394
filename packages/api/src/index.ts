export { createApp, type AppDeps, type ApiConfig } from './app.js';
export { startServer, type RunningServer } from './server.js';
export { JobEventsHub, createJobEventsHub, type JobEvent, type FinishOutcome } from './events/job-events-hub.js';
export { readModelManifest, defaultModelDir } from './model-manifest.js';
export { HttpError } from './errors/http-error.js';
