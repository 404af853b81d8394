import { describe, expect, it } from 'vitest';
import { parseNetPrototxt } from '../src/caffe/load.js';
import type { Blob } from '../src/caffe/types.js';
import { caffeToOnnxGraph, UnsupportedLayerError } from '../src/convert.js';
import { onnxType, toObjectOptions } from '../src/proto/schemas.js';

const blob = (shape: number[]): Blob => ({ shape, data: new Float32Array(shape.reduce((a, b) => a * b, 1)).fill(0.5) });

const header = 'input: "data" input_dim: 1 input_dim: 3 input_dim: 8 input_dim: 8\n';
const tinyNet = `${header}
layer { name: "conv" type: "Convolution" bottom: "data" top: "conv" convolution_param { num_output: 4 kernel_size: 3 pad: 1 } }
layer { name: "relu" type: "ReLU" bottom: "conv" top: "conv" }
layer { name: "pool" type: "Pooling" bottom: "conv" top: "pool" pooling_param { pool: MAX kernel_size: 2 stride: 2 } }
layer { name: "perm" type: "Permute" bottom: "pool" top: "perm" permute_param { order: 0 order: 2 order: 3 order: 1 } }
layer { name: "flat" type: "Reshape" bottom: "perm" top: "flat" reshape_param { shape { dim: 0 dim: -1 dim: 2 } } }
layer { name: "act" type: "Sigmoid" bottom: "flat" top: "flat" }
`;
const weights = new Map([['conv', [blob([4, 3, 3, 3]), blob([4])]]]);

function decode(bytes: Uint8Array) {
  const type = onnxType('ModelProto');
  return type.toObject(type.decode(bytes), toObjectOptions) as {
    graph: { node: { op_type: string; input: string[]; output: string[] }[]; output: { name: string }[] };
    opset_import: { version: number }[];
  };
}

describe('caffeToOnnxGraph', () => {
  const graph = caffeToOnnxGraph({ net: parseNetPrototxt(tinyNet), weights }, { batchDim: 'batch', outputs: [{ blob: 'flat', name: 'probs' }] });

  it('gives in-place layers fresh value names and keeps the graph in order', () => {
    const model = decode(graph.builder.encode({ graphName: 't', opset: 13, irVersion: 7, producerName: 'test', producerVersion: '0' }));
    const nodes = model.graph.node.map((n) => [n.op_type, n.input[0], n.output[0]]);
    expect(nodes).toEqual([
      ['Conv', 'data', 'conv'],
      ['Relu', 'conv', 'relu'],
      ['MaxPool', 'relu', 'pool'],
      ['Transpose', 'pool', 'perm'],
      ['Reshape', 'perm', 'flat'],
      ['Sigmoid', 'flat', 'probs'],
    ]);
    expect(model.graph.output.map((o) => o.name)).toEqual(['probs']);
    expect(model.opset_import[0]!.version).toBe(13);
  });

  it('infers shapes with a symbolic batch (ceil pooling, NHWC permute, [0,-1,k] reshape)', () => {
    expect(graph.input.shape).toEqual(['batch', 3, 8, 8]);
    expect(graph.shapes.get('pool')).toEqual(['batch', 4, 4, 4]);
    expect(graph.shapes.get('perm')).toEqual(['batch', 4, 4, 4]);
    expect(graph.outputs[0]!.shape).toEqual(['batch', 32, 2]);
  });

  it('rounds pooled sizes up like Caffe', () => {
    const net = parseNetPrototxt(`input: "data" input_dim: 1 input_dim: 1 input_dim: 65 input_dim: 65
      layer { name: "p" type: "Pooling" bottom: "data" top: "p" pooling_param { pool: MAX kernel_size: 2 stride: 2 } }`);
    const g = caffeToOnnxGraph({ net, weights: new Map() }, { batchDim: 'batch', outputs: [{ blob: 'p', name: 'p' }] });
    expect(g.outputs[0]!.shape).toEqual(['batch', 1, 33, 33]);
  });

  it('is deterministic', () => {
    const opts = { graphName: 't', opset: 13, irVersion: 7, producerName: 'test', producerVersion: '0' };
    const again = caffeToOnnxGraph({ net: parseNetPrototxt(tinyNet), weights }, { batchDim: 'batch', outputs: [{ blob: 'flat', name: 'probs' }] });
    expect(Buffer.from(again.builder.encode(opts)).equals(Buffer.from(graph.builder.encode(opts)))).toBe(true);
  });

  it.each([
    ['an unknown layer type', `layer { name: "x" type: "LRN" bottom: "data" top: "x" }`, /layer type is not supported/],
    ['average pooling', `layer { name: "x" type: "Pooling" bottom: "data" top: "x" pooling_param { pool: AVE kernel_size: 2 } }`, /AVE pooling/],
    ['a missing bias blob (bias_term defaults to true)', `layer { name: "conv" type: "Convolution" bottom: "data" top: "x" convolution_param { num_output: 4 kernel_size: 3 } }`, /expected 2 weight blobs/],
  ])('refuses %s', (_what, layer, message) => {
    const net = parseNetPrototxt(header + layer);
    const onlyWeight = new Map([['conv', [blob([4, 3, 3, 3])]]]);
    expect(() => caffeToOnnxGraph({ net, weights: onlyWeight }, { batchDim: 'batch', outputs: [{ blob: 'x', name: 'x' }] })).toThrow(
      UnsupportedLayerError,
    );
    expect(() => caffeToOnnxGraph({ net, weights: onlyWeight }, { batchDim: 'batch', outputs: [{ blob: 'x', name: 'x' }] })).toThrow(message);
  });
});
