/**
 * The AIZOO face-mask detector: where its Caffe files come from and the facts its outputs
 * need (taken from the model's published inference code; see ../shared/README.md).
 */
export const faceMaskModel = {
  name: 'aizoo-face-mask',
  version: '1.0.0',
  description:
    'AIZOO face-mask detector: a small single-shot detector (about 1.01 M parameters) that finds faces and says whether each wears a mask.',
  source: {
    repository: 'https://github.com/AIZOOTech/FaceMaskDetection',
    commit: '256dc65',
    prototxt: 'face_mask_detection.prototxt',
    caffemodel: 'face_mask_detection.caffemodel',
    license: 'LICENSE',
    spdx: 'MIT',
  },
  /** Caffe blob -> ONNX name; graph outputs in this order. */
  outputs: [
    {
      blob: 'loc_branch_concat',
      name: 'loc',
      role: 'boxes',
      description: 'per anchor [dx, dy, dw, dh] box offsets, encoded against the anchors with the variances',
    },
    {
      blob: 'cls_branch_concat',
      name: 'cls',
      role: 'scores',
      description: 'per anchor class probabilities (sigmoid already applied), in label order',
    },
  ],
  input: { colorOrder: 'RGB', scale: 1 / 255, mean: null },
  labels: ['mask', 'no_mask'],
  anchors: {
    sizes: [
      [0.04, 0.056],
      [0.08, 0.11],
      [0.16, 0.22],
      [0.32, 0.45],
      [0.64, 0.72],
    ],
    ratios: [
      [1, 0.62, 0.42],
      [1, 0.62, 0.42],
      [1, 0.62, 0.42],
      [1, 0.62, 0.42],
      [1, 0.62, 0.42],
    ],
    variances: [0.1, 0.1, 0.2, 0.2],
  },
  /** The convolutions whose output maps are the detection levels, in output order. */
  levelLayers: ['loc_0_conv', 'loc_1_conv', 'loc_2_conv', 'loc_3_conv', 'loc_4_conv'],
  thresholds: { score: 0.5, nmsIou: 0.4 },
} as const;
