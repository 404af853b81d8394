import { z } from 'zod';

const sha256Schema = z.string().regex(/^[0-9a-f]{64}$/, 'lower-case hex sha256');
/** A tensor dimension: a fixed size, or a symbolic name such as 'batch' (dynamic). */
const dimSchema = z.union([z.number().int().positive(), z.string().min(1)]);

/**
 * models/<name>/<version>/model.json: everything a worker needs to feed the model and read
 * its outputs, plus where the model came from. Written by @maskq/converter.
 */
export const modelManifestSchema = z
  .object({
    schemaVersion: z.literal(1),
    name: z.string().min(1),
    version: z.string().regex(/^\d+\.\d+\.\d+$/),
    description: z.string(),
    model: z.object({
      /** File name, relative to the manifest. */
      file: z.string().min(1),
      format: z.literal('onnx'),
      opset: z.number().int().positive(),
      precision: z.enum(['float32', 'int8']),
      bytes: z.number().int().positive(),
      sha256: sha256Schema,
      /** How an int8 model was quantized (absent for float32). */
      quantization: z
        .object({
          /** 'QDQ': QuantizeLinear/DequantizeLinear pairs that ONNX Runtime fuses into integer kernels */
          format: z.literal('QDQ'),
          weights: z.string().min(1),
          activations: z.string().min(1),
          /** nodes kept in float */
          floatNodes: z.array(z.string().min(1)),
        })
        .optional(),
    }),
    input: z.object({
      name: z.string().min(1),
      dtype: z.literal('float32'),
      layout: z.literal('NCHW'),
      shape: z.tuple([dimSchema, z.literal(3), z.number().int().positive(), z.number().int().positive()]),
      width: z.number().int().positive(),
      height: z.number().int().positive(),
      colorOrder: z.enum(['RGB', 'BGR']),
      /** value = (pixel - mean[c]) * scale; mean null means no subtraction */
      scale: z.number().positive(),
      mean: z.tuple([z.number(), z.number(), z.number()]).nullable(),
    }),
    outputs: z
      .array(
        z.object({
          name: z.string().min(1),
          role: z.enum(['boxes', 'scores']),
          dtype: z.literal('float32'),
          shape: z.tuple([dimSchema, z.number().int().positive(), z.number().int().positive()]),
          description: z.string(),
        }),
      )
      .length(2),
    labels: z.array(z.string().min(1)).min(1),
    anchors: z.object({
      /** [height, width] of each detection level's feature map, in output order */
      featureMapSizes: z.array(z.tuple([z.number().int().positive(), z.number().int().positive()])).min(1),
      /** anchor sizes per level, as fractions of the input side */
      sizes: z.array(z.array(z.number().positive()).min(1)),
      /** width/height ratios per level; the first is paired with every size, the rest with sizes[0] */
      ratios: z.array(z.array(z.number().positive()).min(1)),
      /** [x, y, w, h] variances of the box encoding */
      variances: z.tuple([z.number().positive(), z.number().positive(), z.number().positive(), z.number().positive()]),
    }),
    thresholds: z.object({
      score: z.number().min(0).max(1),
      nmsIou: z.number().min(0).max(1),
    }),
    provenance: z.object({
      source: z.object({
        repository: z.url(),
        commit: z.string().regex(/^[0-9a-f]{7,40}$/),
        files: z.array(z.object({ name: z.string().min(1), sha256: sha256Schema })).min(1),
      }),
      converter: z.object({
        package: z.string().min(1),
        version: z.string().min(1),
        command: z.string().min(1),
      }),
      /** Where an int8 model's activation ranges came from. */
      calibration: z
        .object({
          /** folder of the images, relative to the shared data (e.g. fixtures/validation) */
          images: z.string().min(1),
          count: z.number().int().positive(),
          /** sha256 over the file names and bytes, in the order used */
          sha256: sha256Schema,
          order: z.string().min(1),
          method: z.string().min(1),
          preprocess: z.string().min(1),
        })
        .optional(),
    }),
    license: z.object({ spdx: z.string().min(1), file: z.string().min(1) }),
  })
  .superRefine((m, ctx) => {
    const { featureMapSizes, sizes, ratios } = m.anchors;
    if (sizes.length !== featureMapSizes.length || ratios.length !== featureMapSizes.length) {
      ctx.addIssue({ code: 'custom', path: ['anchors'], message: 'sizes and ratios need one entry per feature map' });
      return;
    }
    const anchorCount = featureMapSizes.reduce(
      (sum, [h, w], i) => sum + h * w * (sizes[i]!.length + ratios[i]!.length - 1),
      0,
    );
    const boxes = m.outputs.find((o) => o.role === 'boxes');
    const scores = m.outputs.find((o) => o.role === 'scores');
    if (!boxes || !scores) {
      ctx.addIssue({ code: 'custom', path: ['outputs'], message: 'needs one output with role boxes and one with role scores' });
      return;
    }
    if (boxes.shape[1] !== anchorCount || scores.shape[1] !== anchorCount) {
      ctx.addIssue({ code: 'custom', path: ['outputs'], message: `outputs must hold one row per anchor (${anchorCount})` });
    }
    if (boxes.shape[2] !== 4) ctx.addIssue({ code: 'custom', path: ['outputs'], message: 'boxes rows must have 4 values' });
    if (scores.shape[2] !== m.labels.length) {
      ctx.addIssue({ code: 'custom', path: ['outputs'], message: 'scores rows must have one value per label' });
    }
    if (m.input.shape[2] !== m.input.height || m.input.shape[3] !== m.input.width) {
      ctx.addIssue({ code: 'custom', path: ['input'], message: 'input shape must be [N, 3, height, width]' });
    }
  });

export type ModelManifest = z.infer<typeof modelManifestSchema>;
