import { sniffImageFormat, sniffRefusedImageKind, type ImageFormat } from '@maskq/shared';
import { HttpError } from '../errors/http-error.js';

export const supportedFormatsText = 'jpeg, png, webp, gif, tiff, avif';

/**
 * Checks an upload before anything is stored: empty, too large, or not an
 * image we take (by its magic bytes, never the client's content type).
 */
export function validateImage(bytes: Buffer, maxBytes: number): ImageFormat {
  if (bytes.length === 0) throw new HttpError(400, 'invalid_image', 'the image is empty (0 bytes)');
  if (bytes.length > maxBytes) {
    throw new HttpError(413, 'payload_too_large', `the image is larger than ${maxBytes} bytes`);
  }
  const format = sniffImageFormat(bytes);
  if (format) return format;
  const refused = sniffRefusedImageKind(bytes);
  throw new HttpError(
    415,
    'unsupported_format',
    refused
      ? `${refused} images are not supported; send ${supportedFormatsText}`
      : `not a supported image; send ${supportedFormatsText}`,
  );
}
