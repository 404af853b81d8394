import { convolutionGeometry, poolingGeometry } from './caffe/layer-params.js';
import type { CaffeNet } from './caffe/load.js';
import type { Blob, LayerParameter, NetParameter } from './caffe/types.js';
import type { Dim, ValueInfo } from './onnx/graph-builder.js';
import { DataType, GraphBuilder } from './onnx/graph-builder.js';

export interface ConvertOptions {
  /** Name of the symbolic batch dimension; null keeps the prototxt's fixed batch size. */
  batchDim: string | null;
  /** Graph outputs in this order: which Caffe blob each one is, and its ONNX name. */
  outputs: { blob: string; name: string }[];
  /** Optional rename of graph inputs (Caffe blob -> ONNX name). */
  inputNames?: Record<string, string>;
}

export interface ConvertResult {
  builder: GraphBuilder;
  input: ValueInfo;
  outputs: ValueInfo[];
  /** Inferred shape of every ONNX value, by ONNX name. */
  shapes: Map<string, Dim[]>;
  /** ONNX value name holding each Caffe layer's (last) output, by layer name. */
  layerOutputs: Map<string, string>;
}

export class UnsupportedLayerError extends Error {
  constructor(layer: LayerParameter, detail: string) {
    super(`layer ${layer.name} (${layer.type}): ${detail}`);
    this.name = 'UnsupportedLayerError';
  }
}

function inputShape(net: NetParameter): { name: string; shape: number[] } | null {
  if (net.input.length === 0) return null;
  if (net.input.length > 1) throw new Error(`only one network input is supported, got ${net.input.join(', ')}`);
  const shape = net.input_shape[0]?.dim ?? net.input_dim;
  if (shape.length !== 4) throw new Error(`input ${net.input[0]} must be 4-D (NCHW), got [${shape}]`);
  return { name: net.input[0]!, shape };
}

function product(dims: number[]): number {
  return dims.reduce((a, b) => a * b, 1);
}

function numeric(shape: Dim[], from: number, layer: LayerParameter): number[] {
  return shape.slice(from).map((d) => {
    if (typeof d !== 'number') throw new UnsupportedLayerError(layer, `needs a fixed size where dimension '${d}' is symbolic`);
    return d;
  });
}

/**
 * Builds the ONNX graph of a Caffe network. In-place layers (top = bottom) get fresh value
 * names, so the ONNX graph stays in SSA form; shapes are inferred along the way (a symbolic
 * batch dimension included) and written as value_info.
 */
export function caffeToOnnxGraph(caffe: CaffeNet, options: ConvertOptions): ConvertResult {
  const { net, weights } = caffe;
  const builder = new GraphBuilder();
  const shapes = new Map<string, Dim[]>();
  const current = new Map<string, string>(); // Caffe blob -> ONNX value holding it now
  const layerOutputs = new Map<string, string>();
  const allTops = new Set(net.layer.flatMap((l) => l.top));
  const lastWriter = new Map<string, number>();
  net.layer.forEach((l, i) => l.top.forEach((t) => lastWriter.set(t, i)));
  const outputRename = new Map(options.outputs.map((o) => [o.blob, o.name]));

  const declared = inputShape(net);
  let input: ValueInfo | undefined;
  const defineInput = (blob: string, shape: number[]) => {
    const name = options.inputNames?.[blob] ?? blob;
    const dims: Dim[] = options.batchDim ? [options.batchDim, ...shape.slice(1)] : shape;
    input = { name, elemType: DataType.FLOAT, shape: dims };
    builder.addInput(input);
    shapes.set(name, dims);
    current.set(blob, name);
  };
  if (declared) defineInput(declared.name, declared.shape);

  const bottomOf = (layer: LayerParameter, i: number): { name: string; shape: Dim[] } => {
    const blob = layer.bottom[i];
    const name = blob === undefined ? undefined : current.get(blob);
    if (name === undefined) throw new Error(`layer ${layer.name}: bottom '${blob}' is not produced by an earlier layer`);
    return { name, shape: shapes.get(name)! };
  };

  const topName = (layer: LayerParameter, index: number, top: string): string => {
    if (lastWriter.get(top) === index && outputRename.has(top)) return outputRename.get(top)!;
    if (!builder.has(top) && !current.has(top)) return top;
    // In place: a fresh name, unlike any Caffe blob name.
    let candidate = layer.name;
    for (let i = 1; builder.has(candidate) || allTops.has(candidate); i++) candidate = `${layer.name}_${i}`;
    return candidate;
  };

  const blobsOf = (layer: LayerParameter, count: number): Blob[] => {
    const blobs = weights.get(layer.name) ?? [];
    if (blobs.length !== count) throw new UnsupportedLayerError(layer, `expected ${count} weight blobs, caffemodel has ${blobs.length}`);
    return blobs;
  };

  net.layer.forEach((layer, index) => {
    if (layer.type === 'Input') {
      const shape = layer.input_param?.shape[0]?.dim;
      if (!shape || layer.top.length !== 1) throw new UnsupportedLayerError(layer, 'needs exactly one top and a shape');
      defineInput(layer.top[0]!, shape);
      return;
    }
    if (layer.top.length !== 1) throw new UnsupportedLayerError(layer, `has ${layer.top.length} tops; one is supported`);
    const top = layer.top[0]!;
    const out = topName(layer, index, top);
    let outShape: Dim[];

    switch (layer.type) {
      case 'Convolution': {
        const p = layer.convolution_param;
        if (!p) throw new UnsupportedLayerError(layer, 'missing convolution_param');
        if (p.axis !== 1) throw new UnsupportedLayerError(layer, `axis ${p.axis} is not supported`);
        const x = bottomOf(layer, 0);
        if (x.shape.length !== 4) throw new UnsupportedLayerError(layer, 'input must be 4-D');
        const [c, h, w] = numeric(x.shape, 1, layer) as [number, number, number];
        const g = convolutionGeometry(layer, p);
        const blobs = blobsOf(layer, p.bias_term ? 2 : 1);
        const weight = blobs[0]!;
        const expected = [p.num_output, c / p.group, g.kernel[0], g.kernel[1]];
        if (weight.shape.join() !== expected.join()) {
          throw new UnsupportedLayerError(layer, `weight blob is [${weight.shape}], expected [${expected}]`);
        }
        const inputs = [x.name, builder.addFloatInitializer(`${layer.name}.weight`, expected, weight.data)];
        if (p.bias_term) {
          const bias = blobs[1]!;
          if (bias.data.length !== p.num_output) throw new UnsupportedLayerError(layer, `bias has ${bias.data.length} values`);
          inputs.push(builder.addFloatInitializer(`${layer.name}.bias`, [p.num_output], bias.data));
        }
        builder.addNode('Conv', layer.name, inputs, [out], {
          dilations: g.dilation,
          group: p.group,
          kernel_shape: g.kernel,
          pads: [g.pad[0], g.pad[1], g.pad[0], g.pad[1]],
          strides: g.stride,
        });
        const size = (n: number, k: number, pad: number, s: number, d: number) => Math.floor((n + 2 * pad - (d * (k - 1) + 1)) / s) + 1;
        outShape = [
          x.shape[0]!,
          p.num_output,
          size(h, g.kernel[0], g.pad[0], g.stride[0], g.dilation[0]),
          size(w, g.kernel[1], g.pad[1], g.stride[1], g.dilation[1]),
        ];
        break;
      }
      case 'Pooling': {
        const p = layer.pooling_param;
        if (!p) throw new UnsupportedLayerError(layer, 'missing pooling_param');
        if (p.pool !== 'MAX') throw new UnsupportedLayerError(layer, `${p.pool} pooling is not supported`);
        const x = bottomOf(layer, 0);
        const [c, h, w] = numeric(x.shape, 1, layer) as [number, number, number];
        if (p.global_pooling) {
          builder.addNode('GlobalMaxPool', layer.name, [x.name], [out]);
          outShape = [x.shape[0]!, c, 1, 1];
          break;
        }
        const g = poolingGeometry(layer, p);
        // Caffe rounds pooled sizes up. With padding it also drops a last window that starts
        // in the padding; ONNX ceil_mode does not promise that, so padding is refused.
        if (g.pad[0] !== 0 || g.pad[1] !== 0) throw new UnsupportedLayerError(layer, 'padded pooling is not supported');
        builder.addNode('MaxPool', layer.name, [x.name], [out], {
          ceil_mode: 1,
          kernel_shape: g.kernel,
          pads: [0, 0, 0, 0],
          strides: g.stride,
        });
        const size = (n: number, k: number, s: number) => Math.ceil((n - k) / s) + 1;
        outShape = [x.shape[0]!, c, size(h, g.kernel[0], g.stride[0]), size(w, g.kernel[1], g.stride[1])];
        break;
      }
      case 'ReLU': {
        const x = bottomOf(layer, 0);
        const slope = layer.relu_param?.negative_slope ?? 0;
        if (slope === 0) builder.addNode('Relu', layer.name, [x.name], [out]);
        else builder.addNode('LeakyRelu', layer.name, [x.name], [out], { alpha: { float: slope } });
        outShape = x.shape;
        break;
      }
      case 'Sigmoid': {
        const x = bottomOf(layer, 0);
        builder.addNode('Sigmoid', layer.name, [x.name], [out]);
        outShape = x.shape;
        break;
      }
      case 'Permute': {
        const x = bottomOf(layer, 0);
        const order = [...(layer.permute_param?.order ?? [])];
        // Caffe (SSD) appends the axes the order leaves out, in their original order.
        for (let axis = 0; axis < x.shape.length; axis++) if (!order.includes(axis)) order.push(axis);
        if (order.length !== x.shape.length || order.some((a) => a >= x.shape.length)) {
          throw new UnsupportedLayerError(layer, `order [${order}] does not fit a ${x.shape.length}-D input`);
        }
        builder.addNode('Transpose', layer.name, [x.name], [out], { perm: order });
        outShape = order.map((a) => x.shape[a]!);
        break;
      }
      case 'Reshape': {
        const p = layer.reshape_param;
        if (!p?.shape) throw new UnsupportedLayerError(layer, 'missing reshape_param.shape');
        if (p.axis !== 0 || p.num_axes !== -1) throw new UnsupportedLayerError(layer, 'axis/num_axes are not supported');
        const x = bottomOf(layer, 0);
        const dims = p.shape.dim;
        // Caffe and ONNX (allowzero = 0) agree: 0 copies the input dimension, -1 is inferred.
        outShape = dims.map((d, i) => (d === 0 ? x.shape[i]! : d));
        const copied = new Set(dims.flatMap((d, i) => (d === 0 ? [i] : [])));
        let known = 1;
        x.shape.forEach((d, i) => {
          if (copied.has(i)) return;
          if (typeof d !== 'number') throw new UnsupportedLayerError(layer, `cannot reshape over symbolic dimension '${d}'`);
          known *= d;
        });
        const fixed = product(dims.filter((d, i) => d > 0 && !copied.has(i)));
        const inferIndex = dims.indexOf(-1);
        if (inferIndex >= 0) {
          if (known % fixed !== 0) throw new UnsupportedLayerError(layer, `cannot split ${known} values by ${fixed}`);
          outShape[inferIndex] = known / fixed;
        } else if (known !== fixed) {
          throw new UnsupportedLayerError(layer, `reshape of ${known} values into ${fixed}`);
        }
        const shapeName = builder.addInt64Initializer(`${layer.name}.shape`, dims);
        builder.addNode('Reshape', layer.name, [x.name, shapeName], [out]);
        break;
      }
      case 'Concat': {
        const xs = layer.bottom.map((_, i) => bottomOf(layer, i));
        const rank = xs[0]!.shape.length;
        const rawAxis = layer.concat_param?.axis ?? 1;
        const axis = rawAxis < 0 ? rawAxis + rank : rawAxis;
        outShape = [...xs[0]!.shape];
        let total = 0;
        for (const x of xs) {
          if (x.shape.length !== rank) throw new UnsupportedLayerError(layer, 'inputs differ in rank');
          x.shape.forEach((d, i) => {
            if (i !== axis && d !== outShape[i]) throw new UnsupportedLayerError(layer, `inputs differ in dimension ${i}`);
          });
          const d = x.shape[axis];
          if (typeof d !== 'number') throw new UnsupportedLayerError(layer, 'cannot concatenate along a symbolic dimension');
          total += d;
        }
        outShape[axis] = total;
        builder.addNode('Concat', layer.name, xs.map((x) => x.name), [out], { axis });
        break;
      }
      default:
        throw new UnsupportedLayerError(layer, 'layer type is not supported');
    }
    shapes.set(out, outShape);
    current.set(top, out);
    layerOutputs.set(layer.name, out);
  });

  if (!input) throw new Error('the network declares no input');

  // Graph outputs: blobs that no layer reads after their last write (an in-place layer
  // reads before it writes, so its result still counts).
  const lastRead = new Map<string, number>();
  net.layer.forEach((l, i) => l.bottom.forEach((b) => lastRead.set(b, i)));
  const finals = [...current.keys()].filter((blob) => {
    const written = lastWriter.get(blob);
    if (written === undefined) return false; // the network input
    const read = lastRead.get(blob);
    return read === undefined || read <= written;
  });
  const wanted = options.outputs.map((o) => o.blob);
  if (finals.slice().sort().join() !== wanted.slice().sort().join()) {
    throw new Error(`network outputs are [${finals}], options name [${wanted}]`);
  }
  const outputs = options.outputs.map((o) => {
    const name = current.get(o.blob)!;
    const info: ValueInfo = { name, elemType: DataType.FLOAT, shape: shapes.get(name)! };
    builder.addOutput(info);
    return info;
  });
  const outputNames = new Set(outputs.map((o) => o.name));
  for (const [name, shape] of shapes) {
    if (name !== input.name && !outputNames.has(name)) builder.addValueInfo({ name, elemType: DataType.FLOAT, shape });
  }
  return { builder, input, outputs, shapes, layerOutputs };
}
