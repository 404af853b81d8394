import express, { type Request, type RequestHandler } from 'express';
import multer from 'multer';
import type { Config } from '@maskq/shared';
import { HttpError } from '../errors/http-error.js';
import { cappedMemoryStorage, type CappedFileInfo } from './capped-memory-storage.js';

/** One uploaded image, from a multipart part or a raw body. */
export interface UploadedImage {
  bytes: Buffer;
  /** Bytes the client sent (may exceed `bytes.length` for a capped oversize file). */
  size: number;
  filename?: string;
}

export const metadataHeader = 'x-maskq-metadata';

type UploadConfig = Pick<Config, 'MAX_IMAGE_BYTES' | 'MAX_BATCH_FILES' | 'MAX_METADATA_BYTES'>;

const isMultipart = (req: Request) => req.is('multipart/form-data') === 'multipart/form-data';
const isRawImage = (req: Request) => Boolean(req.is(['image/*', 'application/octet-stream']));

/** Text fields a multipart upload may carry besides files; generous, but bounded. */
const maxFields = 16;
function fieldLimits(config: UploadConfig) {
  return { fields: maxFields, fieldSize: Math.max(config.MAX_METADATA_BYTES * 4, 16 * 1024), fieldNameSize: 100, headerPairs: 100 };
}

/**
 * Submission fields of a raw-body upload: the query string, plus metadata
 * from the X-Maskq-Metadata header (a header keeps JSON out of URLs and logs).
 */
function rawUploadFields(req: Request): Record<string, unknown> {
  const fields: Record<string, unknown> = { ...(req.query as Record<string, unknown>) };
  delete fields.metadata;
  const metadata = req.headers[metadataHeader];
  if (metadata !== undefined) fields.metadata = metadata;
  return fields;
}

function rejectUnacceptedBody(req: Request): void {
  const length = req.headers['content-length'];
  const hasBody = req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
  if (!req.headers['content-type']) {
    throw new HttpError(
      hasBody ? 415 : 400,
      hasBody ? 'unsupported_format' : 'invalid_request',
      'send the image as multipart/form-data or as a raw image/* body',
    );
  }
  throw new HttpError(
    415,
    'unsupported_format',
    `content type ${req.headers['content-type']} is not accepted: send multipart/form-data or a raw image/* body`,
  );
}

/**
 * Parses a request carrying exactly one image: multipart (one of `fieldNames`)
 * or a raw `image/*` (or octet-stream) body. Leaves `req.upload`.
 */
export function singleImageUpload(config: UploadConfig, fieldNames: readonly string[]): RequestHandler {
  const multipart = multer({
    storage: multer.memoryStorage(),
    limits: { ...fieldLimits(config), fileSize: config.MAX_IMAGE_BYTES, files: 1, parts: maxFields + 1 },
  }).fields(fieldNames.map((name) => ({ name, maxCount: 1 })));
  // One byte over the limit lets the validator say "too large" with the same code either way.
  const raw = express.raw({ type: () => true, limit: config.MAX_IMAGE_BYTES });

  return (req, res, next) => {
    if (isMultipart(req)) {
      multipart(req, res, (err?: unknown) => {
        if (err) return next(err);
        const files = (req.files ?? {}) as Record<string, Express.Multer.File[]>;
        const file = fieldNames.map((name) => files[name]?.[0]).find(Boolean);
        if (!file) {
          return next(new HttpError(400, 'invalid_request', `no image: send one file in field "${fieldNames.join('" or "')}"`));
        }
        req.upload = { bytes: file.buffer, size: file.size, filename: file.originalname };
        req.submitFields = { ...((req.body ?? {}) as Record<string, unknown>) };
        next();
      });
      return;
    }
    if (isRawImage(req)) {
      raw(req, res, (err?: unknown) => {
        if (err) return next(err);
        const bytes = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
        req.upload = { bytes, size: bytes.length };
        req.submitFields = rawUploadFields(req);
        next();
      });
      return;
    }
    try {
      rejectUnacceptedBody(req);
    } catch (err) {
      next(err);
    }
  };
}

/** A batch upload: up to MAX_BATCH_FILES files in field `images`, each capped at MAX_IMAGE_BYTES + 1 bytes. */
export function batchImageUpload(config: UploadConfig): RequestHandler {
  const multipart = multer({
    storage: cappedMemoryStorage(config.MAX_IMAGE_BYTES),
    limits: { ...fieldLimits(config), files: config.MAX_BATCH_FILES, parts: config.MAX_BATCH_FILES + maxFields },
  }).array('images');

  return (req, res, next) => {
    if (!isMultipart(req)) {
      next(new HttpError(415, 'invalid_request', 'a batch is sent as multipart/form-data with files in field "images"'));
      return;
    }
    multipart(req, res, (err?: unknown) => {
      if (err instanceof multer.MulterError && err.code === 'LIMIT_FILE_COUNT') {
        return next(new HttpError(400, 'too_many_files', `at most ${config.MAX_BATCH_FILES} files per batch`));
      }
      if (err) return next(err);
      const files = (req.files ?? []) as Array<Express.Multer.File & CappedFileInfo>;
      if (files.length === 0) return next(new HttpError(400, 'invalid_request', 'no images: send files in field "images"'));
      req.uploads = files.map((file) => ({ bytes: file.buffer, size: file.size, filename: file.originalname }));
      req.submitFields = { ...((req.body ?? {}) as Record<string, unknown>) };
      next();
    });
  };
}

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request {
      /** The one image of a single-image request (set by singleImageUpload). */
      upload?: UploadedImage;
      /** The files of a batch, in upload order (set by batchImageUpload). */
      uploads?: UploadedImage[];
      /** Submission text fields as sent (multipart fields, or query + metadata header for a raw body), not yet validated. */
      submitFields?: Record<string, unknown>;
    }
  }
}
