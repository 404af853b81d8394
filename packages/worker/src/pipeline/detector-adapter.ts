import { generateAnchors, imageTensorSize, postprocess, preprocessInto, type ModelSpec, type PostprocessParams } from '../detector/index.js';
import type { Postprocessor, Preprocessor } from './detector-port.js';

/** The detector library's preprocess, fitted to the pipeline's Preprocessor port. */
export function createPreprocessor(spec: ModelSpec, maxPixels: number): Preprocessor {
  const geometry = { width: spec.imageShape[2], height: spec.imageShape[1] };
  return {
    imageElements: imageTensorSize(geometry),
    preprocessInto: (bytes, batch, index) => preprocessInto(bytes, batch, index, { maxPixels, geometry }),
  };
}

/** The detector library's pure postprocess (anchors, decode, NMS), fitted to the Postprocessor port. */
export function createPostprocessor(spec: ModelSpec): Postprocessor {
  const params: PostprocessParams = {
    anchors: generateAnchors(spec.anchors),
    labels: spec.labels,
    variances: spec.variances,
    scoreThreshold: spec.scoreThreshold,
    iouThreshold: spec.iouThreshold,
  };
  return { decode: (output, index, size) => postprocess(output, index, size.width, size.height, params) };
}
