import { onnxType } from '../proto/schemas.js';

/** ONNX TensorProto.DataType values used by the converter. */
export const DataType = { FLOAT: 1, INT8: 3, UINT8: 2, INT32: 6, INT64: 7 } as const;
export type DataTypeValue = (typeof DataType)[keyof typeof DataType];

/** A dimension: a fixed size or a symbolic name (e.g. 'batch'). */
export type Dim = number | string;

export type AttributeValue = number | number[] | string | { floats: number[] } | { float: number };

export interface ValueInfo {
  name: string;
  elemType: DataTypeValue;
  shape: Dim[];
}

export interface NodeSpec {
  opType: string;
  name: string;
  inputs: string[];
  outputs: string[];
  attributes: Record<string, AttributeValue>;
}

export interface Initializer {
  name: string;
  dataType: DataTypeValue;
  dims: number[];
  raw: Buffer;
}

export interface ModelOptions {
  graphName: string;
  opset: number;
  irVersion: number;
  producerName: string;
  producerVersion: string;
  docString?: string;
  /** Written as metadata_props, sorted by key. */
  metadata?: Record<string, string>;
}

function float32LE(values: Float32Array): Buffer {
  const buf = Buffer.alloc(values.length * 4);
  for (let i = 0; i < values.length; i++) buf.writeFloatLE(values[i]!, i * 4);
  return buf;
}

function int64LE(values: readonly number[]): Buffer {
  const buf = Buffer.alloc(values.length * 8);
  values.forEach((v, i) => buf.writeBigInt64LE(BigInt(v), i * 8));
  return buf;
}

/**
 * Collects an ONNX graph (nodes in insertion order, initializers, typed inputs/outputs)
 * and serializes it. Everything is emitted in the order it was added, so the same calls
 * give the same bytes.
 */
export class GraphBuilder {
  private readonly nodes: NodeSpec[] = [];
  private readonly initializers: Initializer[] = [];
  private readonly inputs: ValueInfo[] = [];
  private readonly outputs: ValueInfo[] = [];
  private readonly valueInfos: ValueInfo[] = [];
  private readonly names = new Set<string>();

  /** The nodes added so far, in order: a read-only view for graph rewrites (quantization). */
  get nodeList(): readonly Readonly<NodeSpec>[] {
    return this.nodes;
  }

  /** An initializer by name, or undefined. */
  initializer(name: string): Readonly<Initializer> | undefined {
    return this.initializers.find((t) => t.name === name);
  }

  /** True when `name` already names a value, initializer or node output in this graph. */
  has(name: string): boolean {
    return this.names.has(name);
  }

  /** `base` if unused, else `base_1`, `base_2`, ... */
  uniqueName(base: string): string {
    if (!this.names.has(base)) return base;
    for (let i = 1; ; i++) if (!this.names.has(`${base}_${i}`)) return `${base}_${i}`;
  }

  private claim(name: string): void {
    if (this.names.has(name)) throw new Error(`ONNX value name '${name}' defined twice`);
    this.names.add(name);
  }

  addInput(info: ValueInfo): void {
    this.claim(info.name);
    this.inputs.push(info);
  }

  addOutput(info: ValueInfo): void {
    if (!this.names.has(info.name)) throw new Error(`graph output '${info.name}' is not produced by any node`);
    this.outputs.push(info);
  }

  addValueInfo(info: ValueInfo): void {
    this.valueInfos.push(info);
  }

  addFloatInitializer(name: string, dims: number[], values: Float32Array): string {
    const count = dims.reduce((a, b) => a * b, 1);
    if (count !== values.length) throw new Error(`initializer ${name}: ${values.length} values for dims [${dims}]`);
    this.claim(name);
    this.initializers.push({ name, dataType: DataType.FLOAT, dims, raw: float32LE(values) });
    return name;
  }

  addInt64Initializer(name: string, values: readonly number[]): string {
    this.claim(name);
    this.initializers.push({ name, dataType: DataType.INT64, dims: [values.length], raw: int64LE(values) });
    return name;
  }

  /** Raw little-endian bytes, for types without a helper (e.g. INT8 weights). */
  addRawInitializer(name: string, dataType: DataTypeValue, dims: number[], raw: Buffer): string {
    this.claim(name);
    this.initializers.push({ name, dataType, dims, raw });
    return name;
  }

  addNode(opType: string, name: string, inputs: string[], outputs: string[], attributes: Record<string, AttributeValue> = {}): void {
    for (const input of inputs) {
      if (input !== '' && !this.names.has(input)) throw new Error(`node ${name}: input '${input}' is not defined yet`);
    }
    for (const output of outputs) this.claim(output);
    this.nodes.push({ opType, name, inputs, outputs, attributes });
  }

  toModelObject(options: ModelOptions): Record<string, unknown> {
    const valueInfo = (info: ValueInfo) => ({
      name: info.name,
      type: {
        tensor_type: {
          elem_type: info.elemType,
          shape: { dim: info.shape.map((d) => (typeof d === 'number' ? { dim_value: d } : { dim_param: d })) },
        },
      },
    });
    return {
      ir_version: options.irVersion,
      opset_import: [{ domain: '', version: options.opset }],
      producer_name: options.producerName,
      producer_version: options.producerVersion,
      ...(options.docString ? { doc_string: options.docString } : {}),
      graph: {
        name: options.graphName,
        node: this.nodes.map((n) => ({
          input: n.inputs,
          output: n.outputs,
          name: n.name,
          op_type: n.opType,
          // Attribute order is fixed: sorted by name.
          attribute: Object.keys(n.attributes)
            .sort()
            .map((key) => encodeAttribute(key, n.attributes[key]!)),
        })),
        initializer: this.initializers.map((t) => ({ name: t.name, data_type: t.dataType, dims: t.dims, raw_data: t.raw })),
        input: this.inputs.map(valueInfo),
        output: this.outputs.map(valueInfo),
        value_info: this.valueInfos.map(valueInfo),
      },
      metadata_props: Object.keys(options.metadata ?? {})
        .sort()
        .map((key) => ({ key, value: options.metadata![key] })),
    };
  }

  /** Serialized ModelProto bytes. */
  encode(options: ModelOptions): Uint8Array {
    const type = onnxType('ModelProto');
    const object = this.toModelObject(options);
    const message = type.fromObject(object);
    const error = type.verify(message);
    if (error) throw new Error(`invalid ONNX model: ${error}`);
    return type.encode(message).finish();
  }
}

function encodeAttribute(name: string, value: AttributeValue): Record<string, unknown> {
  if (typeof value === 'number') {
    if (!Number.isInteger(value)) throw new Error(`attribute ${name}: use { float } for non-integers`);
    return { name, type: 'INT', i: value };
  }
  if (typeof value === 'string') return { name, type: 'STRING', s: Buffer.from(value, 'utf8') };
  if (Array.isArray(value)) return { name, type: 'INTS', ints: value };
  if ('floats' in value) return { name, type: 'FLOATS', floats: value.floats };
  return { name, type: 'FLOAT', f: value.float };
}
