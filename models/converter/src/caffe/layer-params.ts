import type { ConvolutionParameter, LayerParameter, PoolingParameter } from './types.js';

/** Caffe's rules for 2-D kernel/pad/stride/dilation, resolved to [h, w] pairs. */
export interface Conv2dGeometry {
  kernel: [number, number];
  pad: [number, number];
  stride: [number, number];
  dilation: [number, number];
}

function pair(values: number[], fallback: number, what: string, layer: string): [number, number] {
  if (values.length === 0) return [fallback, fallback];
  if (values.length === 1) return [values[0]!, values[0]!];
  if (values.length === 2) return [values[0]!, values[1]!];
  throw new Error(`layer ${layer}: ${what} has ${values.length} values; only 2-D convolutions are supported`);
}

export function convolutionGeometry(layer: LayerParameter, p: ConvolutionParameter): Conv2dGeometry {
  const kernel: [number, number] =
    p.kernel_h || p.kernel_w ? [p.kernel_h, p.kernel_w] : pair(p.kernel_size, 0, 'kernel_size', layer.name);
  if (kernel[0] <= 0 || kernel[1] <= 0) throw new Error(`layer ${layer.name}: kernel size missing`);
  const pad: [number, number] = p.pad_h || p.pad_w ? [p.pad_h, p.pad_w] : pair(p.pad, 0, 'pad', layer.name);
  const stride: [number, number] = p.stride_h || p.stride_w ? [p.stride_h, p.stride_w] : pair(p.stride, 1, 'stride', layer.name);
  const dilation = pair(p.dilation, 1, 'dilation', layer.name);
  return { kernel, pad, stride, dilation };
}

export function poolingGeometry(layer: LayerParameter, p: PoolingParameter): Omit<Conv2dGeometry, 'dilation'> {
  const kernel: [number, number] = p.kernel_h || p.kernel_w ? [p.kernel_h, p.kernel_w] : [p.kernel_size, p.kernel_size];
  if (!p.global_pooling && (kernel[0] <= 0 || kernel[1] <= 0)) throw new Error(`layer ${layer.name}: kernel size missing`);
  const pad: [number, number] = p.pad_h || p.pad_w ? [p.pad_h, p.pad_w] : [p.pad, p.pad];
  const stride: [number, number] = p.stride_h || p.stride_w ? [p.stride_h, p.stride_w] : [p.stride, p.stride];
  return { kernel, pad, stride };
}
