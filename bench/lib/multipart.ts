import { randomBytes } from 'node:crypto';

/** One ready-to-send multipart/form-data body: built once, sent many times. */
export interface MultipartBody {
  /** the full body bytes, boundary included */
  body: Buffer;
  /** value for the Content-Type header (with the boundary) */
  contentType: string;
  /** a label for reports (the file name) */
  name: string;
}

export interface MultipartFile {
  /** form field name, e.g. `file` (seed) or `image` */
  field: string;
  filename: string;
  /** the part's Content-Type, e.g. image/jpeg */
  contentType: string;
  data: Buffer;
}

/** Characters RFC 2046 allows in a boundary that need no quoting. */
const boundaryPattern = /^[0-9A-Za-z'()+_,\-./:=?]{1,70}$/;

/** Builds a multipart/form-data body with one file part (RFC 7578). */
export function buildMultipartBody(file: MultipartFile, boundary = `----maskqbench${randomBytes(12).toString('hex')}`): MultipartBody {
  if (!boundaryPattern.test(boundary)) throw new Error(`invalid multipart boundary: ${boundary}`);
  if (file.data.includes(`--${boundary}`)) throw new Error('boundary occurs in the file data');
  const quoted = (value: string): string => value.replace(/["\\\r\n]/g, (c) => encodeURIComponent(c));
  const head =
    `--${boundary}\r\n` +
    `Content-Disposition: form-data; name="${quoted(file.field)}"; filename="${quoted(file.filename)}"\r\n` +
    `Content-Type: ${file.contentType}\r\n\r\n`;
  const tail = `\r\n--${boundary}--\r\n`;
  return {
    body: Buffer.concat([Buffer.from(head, 'utf8'), file.data, Buffer.from(tail, 'utf8')]),
    contentType: `multipart/form-data; boundary=${boundary}`,
    name: file.filename,
  };
}

/** A multipart/form-data body with several file parts in one field (e.g. `images` of POST /v1/jobs/batch). */
export function buildMultipartFiles(files: readonly MultipartFile[], boundary = `----maskqbench${randomBytes(12).toString('hex')}`): MultipartBody {
  if (!boundaryPattern.test(boundary)) throw new Error(`invalid multipart boundary: ${boundary}`);
  const quoted = (value: string): string => value.replace(/["\\\r\n]/g, (c) => encodeURIComponent(c));
  const parts: Buffer[] = [];
  for (const file of files) {
    if (file.data.includes(`--${boundary}`)) throw new Error('boundary occurs in the file data');
    parts.push(
      Buffer.from(
        `--${boundary}\r\nContent-Disposition: form-data; name="${quoted(file.field)}"; filename="${quoted(file.filename)}"\r\nContent-Type: ${file.contentType}\r\n\r\n`,
        'utf8',
      ),
      file.data,
      Buffer.from('\r\n', 'utf8'),
    );
  }
  parts.push(Buffer.from(`--${boundary}--\r\n`, 'utf8'));
  return { body: Buffer.concat(parts), contentType: `multipart/form-data; boundary=${boundary}`, name: `${files.length} files` };
}
