import type { Request } from 'express';
import type { StorageEngine } from 'multer';

/** What the capped storage adds to a multer file. */
export interface CappedFileInfo {
  buffer: Buffer;
  size: number;
  /** The file had more than `maxBytes`; only the first `maxBytes + 1` are kept. */
  oversize: boolean;
}

/**
 * Memory storage that keeps at most `maxBytes + 1` bytes of each file and
 * drains the rest, so one oversize file in a batch gets its own error instead
 * of aborting the whole upload (multer's fileSize limit aborts the request).
 */
export function cappedMemoryStorage(maxBytes: number): StorageEngine {
  return {
    _handleFile(_req: Request, file, callback) {
      const chunks: Buffer[] = [];
      let kept = 0;
      let size = 0;
      file.stream.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (kept <= maxBytes) {
          const room = maxBytes + 1 - kept;
          const part = chunk.length > room ? chunk.subarray(0, room) : chunk;
          chunks.push(part);
          kept += part.length;
        }
      });
      file.stream.on('error', (err: Error) => callback(err));
      file.stream.on('end', () => {
        const info: CappedFileInfo = { buffer: Buffer.concat(chunks, kept), size, oversize: size > maxBytes };
        callback(null, info as unknown as Partial<Express.Multer.File>);
      });
    },
    _removeFile(_req, file, callback) {
      (file as { buffer?: Buffer }).buffer = undefined;
      callback(null);
    },
  };
}
