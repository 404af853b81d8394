import type { z } from 'zod';
import { detectionResultSchema, errorCodes, jobResourceSchema, type ErrorCode } from '@maskq/shared';
import {
  acceptedJobSchema,
  batchAcceptedSchema,
  cancelledJobSchema,
  detectFailureSchema,
  detectQuerySchema,
  detectResponseSchema,
  errorBodySchema,
  healthSchema,
  readinessSchema,
  submitFieldsSchema,
} from './api-schemas.js';
import { toSchema, type JsonSchema } from './json-schema.js';
import { completedJobExample, queuedJobExample } from './examples.js';

/** The component schemas, each generated from the zod schema the code uses. */
const components: Record<string, { schema: z.ZodType; io?: 'input' | 'output' }> = {
  JobResource: { schema: jobResourceSchema },
  DetectionResult: { schema: detectionResultSchema },
  AcceptedJob: { schema: acceptedJobSchema },
  BatchAccepted: { schema: batchAcceptedSchema },
  DetectResponse: { schema: detectResponseSchema },
  DetectFailure: { schema: detectFailureSchema },
  CancelledJob: { schema: cancelledJobSchema },
  ErrorBody: { schema: errorBodySchema },
  Health: { schema: healthSchema },
  Readiness: { schema: readinessSchema },
  SubmitFields: { schema: submitFieldsSchema, io: 'input' },
};

const ref = (name: keyof typeof components & string) => ({ $ref: `#/components/schemas/${name}` });

/** A typical error per status, for examples. */
const errorExamples: Record<number, { code: ErrorCode; message: string; description: string }> = {
  400: { code: 'invalid_request', message: 'no image: send one file in field "image"', description: 'Malformed request: no file, bad field, bad metadata (`invalid_metadata`), bad parameter, empty image (`invalid_image`).' },
  401: { code: 'unauthorized', message: 'missing or invalid API key', description: 'API keys are enabled and the `Authorization: Bearer` key is missing or wrong.' },
  404: { code: 'not_found', message: 'no job 0b6f5c1e-8f0e-4a57-9a43-2f1f2f7b9c11', description: 'No such job (never existed, or its result expired).' },
  409: { code: 'conflict', message: 'job 0b6f5c1e-8f0e-4a57-9a43-2f1f2f7b9c11 is processing and can no longer be cancelled', description: 'A conflict: the job is already processing or finished (cancel), or the Idempotency-Key was used with another image.' },
  410: { code: 'expired', message: 'the job waited longer than max_wait_ms', description: 'The job expired before it started.' },
  413: { code: 'payload_too_large', message: 'image larger than 10485760 bytes', description: 'The image is larger than MAX_IMAGE_BYTES.' },
  415: { code: 'unsupported_format', message: 'not an image we take (jpeg, png, webp, gif, tiff, avif, heif)', description: 'Not a supported image (checked by magic bytes), or a body that is neither multipart nor a raw image.' },
  422: { code: 'invalid_callback_url', message: 'callback_url must be a public http(s) URL', description: 'The callback cannot be used (`invalid_callback_url`, `webhooks_disabled`) or the image cannot be decoded (`invalid_image`).' },
  429: { code: 'rate_limited', message: 'too many requests, retry later', description: 'Rate limit reached; see `Retry-After`.' },
  500: { code: 'inference_failed', message: 'the model failed on this image', description: 'The worker failed (`inference_failed`, `internal_error`).' },
  503: { code: 'overloaded', message: 'too many jobs are waiting; retry later', description: 'Too many jobs waiting (`overloaded`) or Redis unreachable (`unavailable`); see `Retry-After`.' },
};

const requestIdHeader = {
  'X-Request-Id': { description: 'The request id (the caller\'s `X-Request-Id` if sane, else a UUID); stored with the job.', schema: { type: 'string' } },
};

function errorResponse(status: number) {
  const example = errorExamples[status];
  if (!example) throw new Error(`no error example for ${status}`);
  return {
    description: example.description,
    headers: status === 429 || status === 503 ? { ...requestIdHeader, 'Retry-After': { description: 'Seconds to wait before retrying.', schema: { type: 'integer' } } } : requestIdHeader,
    content: { 'application/json': { schema: ref('ErrorBody'), example: { error: { code: example.code, message: example.message } } } },
  };
}

const errors = (...statuses: number[]) => Object.fromEntries(statuses.map((s) => [String(s), errorResponse(s)]));

function jsonResponse(description: string, name: keyof typeof components & string, example?: unknown, headers: Record<string, unknown> = {}) {
  const generated = toSchema(components[name]!.schema, components[name]!.io);
  return {
    description,
    headers: { ...requestIdHeader, ...headers },
    content: { 'application/json': { schema: ref(name), example: example ?? generated.example } },
  };
}

const binary = { type: 'string', format: 'binary', contentMediaType: 'application/octet-stream' };
const imageTypes = 'image/jpeg, image/png, image/webp, image/gif, image/tiff, image/avif, image/heif';

function submitFieldProperties(): Record<string, JsonSchema> {
  const { schema } = toSchema(submitFieldsSchema, 'input');
  return (schema.properties ?? {}) as Record<string, JsonSchema>;
}

/** multipart with the image file(s) and the submission fields, or a raw image body. */
function imageRequestBody(fileFields: Array<{ name: string; description: string; many?: boolean }>, raw: boolean) {
  const fields = submitFieldProperties();
  const multipartSchema: JsonSchema = {
    type: 'object',
    properties: {
      ...Object.fromEntries(
        fileFields.map((f) => [f.name, f.many ? { type: 'array', items: binary, description: f.description } : { ...binary, description: f.description }]),
      ),
      ...fields,
    },
    ...(fileFields.length === 1 ? { required: [fileFields[0]!.name] } : {}),
  };
  const content: Record<string, unknown> = {
    'multipart/form-data': {
      schema: multipartSchema,
      encoding: Object.fromEntries(fileFields.map((f) => [f.name, { contentType: imageTypes }])),
    },
  };
  if (raw) {
    content['image/*'] = { schema: { ...binary, description: 'The raw image bytes (any supported format; the type is found from the bytes).' } };
    content['application/octet-stream'] = { schema: binary };
  }
  return { required: true, content };
}

const metadataHeaderParameter = {
  name: 'X-Maskq-Metadata',
  in: 'header',
  required: false,
  description: 'For a raw image body: the job metadata as a JSON object (the multipart `metadata` field otherwise).',
  schema: { type: 'string' },
  example: '{"camera":"door-3"}',
};

/** For a raw image body the submission fields come in the query string (multipart sends them as form fields). */
function rawBodyFieldParameters(): unknown[] {
  return Object.entries(submitFieldProperties())
    .filter(([name]) => name !== 'metadata')
    .map(([name, property]) => {
      const { description, examples, ...rest } = property;
      return {
        name,
        in: 'query',
        required: false,
        description: `Raw image bodies only (multipart sends it as a form field). ${String(description ?? '')}`.trim(),
        schema: rest,
        ...(Array.isArray(examples) && examples.length > 0 ? { example: examples[0] } : {}),
      };
    });
}

const idempotencyKeyParameter = {
  name: 'Idempotency-Key',
  in: 'header',
  required: false,
  description: 'Makes a retried submission safe: the same key with the same image within 24 h answers the first job (200, `Idempotent-Replayed: true`) instead of queueing another; with a different image, 409 `conflict`.',
  schema: { type: 'string', minLength: 1, maxLength: 255 },
  example: 'upload-2026-01-15-door-3-000123',
};

const jobIdParameter = {
  name: 'id',
  in: 'path',
  required: true,
  description: 'The job id from the 202 answer.',
  schema: { type: 'string' },
  example: '0b6f5c1e-8f0e-4a57-9a43-2f1f2f7b9c11',
};

function queryParameters(schema: z.ZodObject): unknown[] {
  const { schema: json } = toSchema(schema, 'input');
  const properties = (json.properties ?? {}) as Record<string, JsonSchema>;
  const required = new Set((json.required ?? []) as string[]);
  return Object.entries(properties).map(([name, property]) => {
    const { description, examples, ...rest } = property;
    return {
      name,
      in: 'query',
      required: required.has(name),
      ...(description ? { description } : {}),
      schema: rest,
      ...(Array.isArray(examples) && examples.length > 0 ? { example: examples[0] } : {}),
    };
  });
}

const publicOperation = { security: [] as unknown[] };

export interface OpenApiOptions {
  /** e.g. `http://127.0.0.1:8000`; default: relative to where the document is served */
  serverUrl?: string;
  version?: string;
}

/** The OpenAPI 3.1 document of the ingest API. Every route createApp registers is here (a test checks). */
export function buildOpenApiDocument(options: OpenApiOptions = {}) {
  const schemas = Object.fromEntries(Object.entries(components).map(([name, c]) => [name, toSchema(c.schema, c.io ?? 'output').schema]));

  const paths = {
    '/v1/jobs': {
      post: {
        tags: ['jobs'],
        operationId: 'submitJob',
        summary: 'Submit one image',
        description:
          'Queues one image for detection and answers at once with the job id. Send multipart/form-data with the file in field `image` (plus optional fields), or the raw image bytes as the body.',
        parameters: [idempotencyKeyParameter, metadataHeaderParameter, ...rawBodyFieldParameters()],
        requestBody: imageRequestBody([{ name: 'image', description: 'The image file.' }], true),
        responses: {
          '202': jsonResponse('Queued.', 'AcceptedJob', undefined, { Location: { description: 'The job URL.', schema: { type: 'string' } } }),
          '200': jsonResponse('An idempotent replay: this Idempotency-Key already queued this image; the same job.', 'AcceptedJob', undefined, {
            Location: { description: 'The job URL.', schema: { type: 'string' } },
            'Idempotent-Replayed': { description: 'Always `true`.', schema: { type: 'string', const: 'true' } },
          }),
          ...errors(400, 401, 409, 413, 415, 422, 429, 503),
        },
      },
    },
    '/v1/jobs/batch': {
      post: {
        tags: ['jobs'],
        operationId: 'submitBatch',
        summary: 'Submit many images',
        description: 'Up to MAX_BATCH_FILES files in field `images`; the fields apply to every job. A bad file gets its own error entry; the others are queued.',
        requestBody: imageRequestBody([{ name: 'images', description: 'The image files.', many: true }], false),
        responses: {
          '202': jsonResponse('Queued (per-file results).', 'BatchAccepted'),
          ...errors(400, 401, 415, 422, 429, 503),
        },
      },
    },
    '/v1/jobs/{id}': {
      get: {
        tags: ['jobs'],
        operationId: 'getJob',
        summary: 'Read a job',
        parameters: [jobIdParameter],
        responses: {
          '200': {
            ...jsonResponse('The job resource.', 'JobResource'),
            content: {
              'application/json': {
                schema: ref('JobResource'),
                examples: { queued: { value: queuedJobExample }, completed: { value: completedJobExample } },
              },
            },
          },
          ...errors(401, 404, 503),
        },
      },
      delete: {
        tags: ['jobs'],
        operationId: 'cancelJob',
        summary: 'Cancel a job that has not started',
        parameters: [jobIdParameter],
        responses: {
          '200': jsonResponse('Cancelled: job and image removed.', 'CancelledJob'),
          ...errors(401, 404, 409, 503),
        },
      },
    },
    '/v1/jobs/{id}/events': {
      get: {
        tags: ['jobs'],
        operationId: 'jobEvents',
        summary: 'Stream job state changes (server-sent events)',
        description:
          'The current state at once, then each change; the stream ends after a final state (`completed`, `failed`, `expired`, `cancelled`). Each event is named after the status and its data is the job resource as JSON. A `: heartbeat` comment is sent every SSE_HEARTBEAT_MS.',
        parameters: [jobIdParameter],
        responses: {
          '200': {
            description: 'An event stream.',
            headers: requestIdHeader,
            content: {
              'text/event-stream': {
                schema: { type: 'string', description: 'Events `event: <status>` / `data: <JobResource JSON>`.' },
                example: `event: queued\ndata: ${JSON.stringify(queuedJobExample)}\n\nevent: completed\ndata: ${JSON.stringify(completedJobExample)}\n\n`,
              },
            },
          },
          ...errors(401, 404, 503),
        },
      },
    },
    '/v1/events': {
      get: {
        tags: ['jobs'],
        operationId: 'finishedJobEvents',
        summary: 'Stream every finished job of the caller (server-sent events)',
        description:
          'One stream for all of the caller\'s jobs, instead of one per job: each job that finishes from now on, as its final job resource (event named after the status: `completed`, `failed`, `expired`; `cancelled` with `{ id, status }` only, and only on streams without an API key, since a removed job\'s owner is gone). Open it before submitting; a job that finished while no stream was open is read with `GET /v1/jobs/{id}`. With API keys, a caller sees only its own jobs. A `: heartbeat` comment every SSE_HEARTBEAT_MS; a reader more than 4 MiB behind is disconnected.',
        responses: {
          '200': {
            description: 'An event stream that stays open.',
            headers: requestIdHeader,
            content: {
              'text/event-stream': {
                schema: { type: 'string', description: 'Events `event: <status>` / `data: <JobResource JSON>`.' },
                example: `event: completed\ndata: ${JSON.stringify(completedJobExample)}\n\n`,
              },
            },
          },
          ...errors(401),
        },
      },
    },
    '/v1/jobs/{id}/annotated.jpg': {
      get: {
        tags: ['jobs'],
        operationId: 'getAnnotatedImage',
        summary: 'The image with its faces boxed and labelled',
        description:
          'Rendered by the worker for jobs submitted with `annotate=true` (green: mask, red: no mask, with the score). Kept as long as the result (RESULT_TTL_SECONDS). 404 when the job is unknown, not completed, did not ask for it, or the image expired.',
        parameters: [jobIdParameter],
        responses: {
          '200': {
            description: 'A JPEG.',
            headers: requestIdHeader,
            content: { 'image/jpeg': { schema: { type: 'string', contentMediaType: 'image/jpeg' } } },
          },
          ...errors(401, 404, 503),
        },
      },
    },
    '/v1/detect': {
      post: {
        tags: ['detect'],
        operationId: 'detect',
        summary: 'Detect synchronously',
        description:
          'Queues the image like POST /v1/jobs and waits for the result up to `timeout_ms`. On timeout (504) the job keeps running and can be polled at `links.self`. File in field `image` or `file`, or a raw image body.',
        parameters: [...queryParameters(detectQuerySchema), metadataHeaderParameter, ...rawBodyFieldParameters()],
        requestBody: imageRequestBody(
          [
            { name: 'image', description: 'The image file (or use field `file`).' },
            { name: 'file', description: 'The image file (alternative name).' },
          ],
          true,
        ),
        responses: {
          '200': jsonResponse('The result.', 'DetectResponse'),
          ...errors(400, 401, 413, 415, 422, 429, 503),
          '409': {
            description: 'The job was cancelled while waiting.',
            headers: requestIdHeader,
            content: {
              'application/json': {
                schema: ref('DetectFailure'),
                example: { success: false, id: 'a1b2c3', error: { code: 'cancelled', message: 'the job was cancelled' }, links: { self: '/v1/jobs/a1b2c3' } },
              },
            },
          },
          '500': {
            description: 'The job failed in the worker (its own error code).',
            headers: requestIdHeader,
            content: {
              'application/json': {
                schema: ref('DetectFailure'),
                example: { success: false, id: 'a1b2c3', error: { code: 'inference_failed', message: 'the model failed on this image' }, links: { self: '/v1/jobs/a1b2c3' } },
              },
            },
          },
          '504': jsonResponse('No result within timeout_ms; the job continues.', 'DetectFailure', {
            success: false,
            id: 'a1b2c3',
            error: { code: 'timeout', message: 'no result within 10000 ms; the job continues, poll /v1/jobs/a1b2c3' },
            links: { self: '/v1/jobs/a1b2c3' },
          }),
        },
      },
    },
    '/health': {
      get: { tags: ['operations'], operationId: 'health', summary: 'Liveness', ...publicOperation, responses: { '200': jsonResponse('The process answers.', 'Health') } },
    },
    '/ready': {
      get: {
        tags: ['operations'],
        operationId: 'ready',
        summary: 'Readiness: Redis answers and the model is known',
        ...publicOperation,
        responses: {
          '200': jsonResponse('Ready.', 'Readiness'),
          '503': jsonResponse('Not ready.', 'Readiness', { status: 'not_ready', redis: 'unavailable', model: { name: 'face-mask', version: '1.0.0' } }),
        },
      },
    },
    '/metrics': {
      get: {
        tags: ['operations'],
        operationId: 'metrics',
        summary: 'Prometheus metrics',
        description: 'Prometheus text format. Behind `Authorization: Bearer <METRICS_TOKEN>` when METRICS_TOKEN is set (not the API keys).',
        security: [{ metricsToken: [] }, {}],
        responses: {
          '200': { description: 'Metrics.', content: { 'text/plain': { schema: { type: 'string' }, example: '# TYPE maskq_jobs_submitted_total counter\nmaskq_jobs_submitted_total{service="api",kind="detect"} 42\n' } } },
          ...errors(401),
        },
      },
    },
    '/openapi.json': {
      get: {
        tags: ['operations'],
        operationId: 'openapi',
        summary: 'This document',
        ...publicOperation,
        responses: { '200': { description: 'OpenAPI 3.1 document.', content: { 'application/json': { schema: { type: 'object' } } } } },
      },
    },
    '/docs': {
      get: {
        tags: ['operations'],
        operationId: 'docs',
        summary: 'Interactive API docs (Swagger UI, served locally)',
        ...publicOperation,
        responses: { '200': { description: 'HTML page.', content: { 'text/html': { schema: { type: 'string' } } } } },
      },
    },
  };

  return {
    openapi: '3.1.0',
    jsonSchemaDialect: 'https://spec.openapis.org/oas/3.1/dialect/base',
    info: {
      title: 'maskq API',
      version: options.version ?? '0.1.0',
      summary: 'Face-mask detection as a queue: submit images, get results by polling, server-sent events, webhook or a sync call.',
      description: `Every error is \`{ "error": { "code", "message" } }\`. Codes: ${errorCodes.map((c) => `\`${c}\``).join(', ')}.`,
    },
    servers: [{ url: options.serverUrl ?? '/' }],
    tags: [
      { name: 'jobs', description: 'Asynchronous jobs' },
      { name: 'detect', description: 'Synchronous detection' },
      { name: 'operations', description: 'Health, readiness and these docs' },
    ],
    security: [{ bearerAuth: [] }, {}],
    paths,
    webhooks: {
      jobFinished: {
        post: {
          operationId: 'jobFinishedWebhook',
          summary: 'Sent to callback_url when a job ends',
          description:
            'The job resource, signed the Standard Webhooks way with WEBHOOK_SECRET: verify `webhook-signature` over `<webhook-id>.<webhook-timestamp>.<raw body>` (verifyWebhook in @maskq/client or @maskq/shared; docs/webhooks.md). Any 2xx acknowledges; other answers are retried with backoff.',
          parameters: [
            { name: 'webhook-id', in: 'header', required: true, description: 'Same for every retry of one (job, event): dedupe on it.', schema: { type: 'string' }, example: 'msg_2b8Qm7u0cU5oVq3mXl1xkz9d0aA' },
            { name: 'webhook-timestamp', in: 'header', required: true, description: 'Unix seconds of this attempt.', schema: { type: 'string', pattern: '^\\d+$' }, example: '1768472430' },
            { name: 'webhook-signature', in: 'header', required: true, description: 'Space-separated `v1,<base64 HMAC-SHA256>` signatures.', schema: { type: 'string' }, example: 'v1,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4=' },
          ],
          requestBody: {
            required: true,
            content: { 'application/json': { schema: ref('JobResource'), examples: { completed: { value: completedJobExample } } } },
          },
          responses: { '2XX': { description: 'Delivered; no retry.' }, default: { description: 'Retried later (see docs/webhooks.md).' } },
        },
      },
    },
    components: {
      schemas,
      securitySchemes: {
        bearerAuth: { type: 'http', scheme: 'bearer', description: 'An API key, `Authorization: Bearer <key>`, when the server has API keys configured.' },
        metricsToken: { type: 'http', scheme: 'bearer', description: 'METRICS_TOKEN, for /metrics only.' },
      },
    },
  };
}

export type OpenApiDocument = ReturnType<typeof buildOpenApiDocument>;
