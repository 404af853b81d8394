import { decodeImage, type DecodeOptions } from './decode.js';
import { resizeBilinearToPlanar } from './resize.js';

export * from './decode.js';
export * from './resize.js';

export interface TensorGeometry {
  width: number;
  height: number;
}

/** The model's input geometry (260×260 for the AIZOO face-mask model). */
export const defaultTensorGeometry: TensorGeometry = { width: 260, height: 260 };

export interface PreprocessOptions extends Partial<DecodeOptions> {
  geometry?: TensorGeometry;
}

/** Default pixel limit (the MAX_IMAGE_PIXELS default). */
export const defaultMaxPixels = 50_000_000;

/** Floats one image occupies in an NCHW batch tensor. */
export function imageTensorSize(geometry: TensorGeometry = defaultTensorGeometry): number {
  return 3 * geometry.width * geometry.height;
}

/** A zeroed [n, 3, H, W] batch tensor. */
export function createBatchTensor(n: number, geometry: TensorGeometry = defaultTensorGeometry): Float32Array {
  return new Float32Array(n * imageTensorSize(geometry));
}

/**
 * Decodes `bytes` and writes the model input of the image into slot `index`
 * of an NCHW batch tensor. Returns the (EXIF-oriented) size of the original,
 * which the postprocess needs to scale boxes back. Throws MaskqError
 * (invalid_image, unsupported_format, image_too_large).
 */
export async function preprocessInto(
  bytes: Uint8Array,
  tensor: Float32Array,
  index: number,
  options: PreprocessOptions = {},
): Promise<{ width: number; height: number }> {
  const geometry = options.geometry ?? defaultTensorGeometry;
  const size = imageTensorSize(geometry);
  if (!Number.isInteger(index) || index < 0 || (index + 1) * size > tensor.length) {
    throw new RangeError(`batch slot ${index} is outside a tensor of ${tensor.length / size} images`);
  }
  const image = await decodeImage(bytes, { maxPixels: options.maxPixels ?? defaultMaxPixels });
  resizeBilinearToPlanar(image, tensor, index * size, geometry.width, geometry.height);
  return { width: image.width, height: image.height };
}
