import type { JobResource } from '@maskq/shared';

const id = '0b6f5c1e-8f0e-4a57-9a43-2f1f2f7b9c11';

export const queuedJobExample: JobResource = {
  id,
  status: 'queued',
  created_at: '2026-01-15T10:20:30.000Z',
  metadata: { camera: 'door-3' },
  links: { self: `/v1/jobs/${id}` },
};

export const completedJobExample: JobResource = {
  id,
  status: 'completed',
  created_at: '2026-01-15T10:20:30.000Z',
  started_at: '2026-01-15T10:20:30.012Z',
  finished_at: '2026-01-15T10:20:30.061Z',
  result: {
    width: 640,
    height: 480,
    detections: [
      { label: 'mask', score: 0.9731, box: [102.5, 88, 210, 220.4] },
      { label: 'no_mask', score: 0.8812, box: [380, 95.2, 470.8, 210] },
    ],
    summary: { faces: 2, masked: 1, unmasked: 1 },
  },
  timings: { queue_ms: 12, inference_ms: 31.42, total_ms: 61 },
  model: { name: 'face-mask', version: '1.0.0' },
  metadata: { camera: 'door-3' },
  links: { self: `/v1/jobs/${id}` },
};
