import { z } from 'zod';

export const labels = ['mask', 'no_mask'] as const;
export type Label = (typeof labels)[number];

export const detectionSchema = z.object({
  label: z.enum(labels),
  /** max class probability, rounded to 4 decimals */
  score: z.number().min(0).max(1),
  /** [x1, y1, x2, y2] in original-image pixels, rounded to 0.1 px */
  box: z.tuple([z.number(), z.number(), z.number(), z.number()]),
});

/** What the detector answers for one image; every other part of maskq passes this along unchanged. */
export const detectionResultSchema = z.object({
  width: z.number().int().positive(),
  height: z.number().int().positive(),
  detections: z.array(detectionSchema),
  summary: z.object({
    faces: z.number().int().nonnegative(),
    masked: z.number().int().nonnegative(),
    unmasked: z.number().int().nonnegative(),
  }),
});

export type Detection = z.infer<typeof detectionSchema>;
export type DetectionResult = z.infer<typeof detectionResultSchema>;
