import * as ort from 'onnxruntime-node';
import sharp from 'sharp';

/** Versions of the native runtimes the detector runs on (for logs, health and benchmark reports). */
export function runtimeVersions(): { onnxruntime: string; sharp: string; libvips: string } {
  return {
    onnxruntime: ort.env.versions.node ?? ort.env.versions.common,
    sharp: sharp.versions.sharp ?? 'unknown',
    libvips: sharp.versions.vips,
  };
}
