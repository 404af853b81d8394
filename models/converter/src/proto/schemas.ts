import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';

/** The trimmed .proto files in models/converter/proto, with their original field names (keepCase). */
const protoDir = fileURLToPath(new URL('../../proto/', import.meta.url));

function loadRoot(file: string): protobuf.Root {
  const root = new protobuf.Root();
  root.loadSync(protoDir + file, { keepCase: true });
  root.resolveAll();
  return root;
}

let caffeRoot: protobuf.Root | undefined;
let onnxRoot: protobuf.Root | undefined;

export function caffeType(name: 'NetParameter' | 'LayerParameter' | 'BlobProto'): protobuf.Type {
  caffeRoot ??= loadRoot('caffe.proto');
  return caffeRoot.lookupType(`caffe.${name}`);
}

export function onnxType(name: 'ModelProto' | 'TensorProto' | 'GraphProto'): protobuf.Type {
  onnxRoot ??= loadRoot('onnx.proto');
  return onnxRoot.lookupType(`onnx.${name}`);
}

/** Plain-object conversion used everywhere: field defaults filled, enums by name, int64 as number. */
export const toObjectOptions: protobuf.IConversionOptions = {
  defaults: true,
  arrays: true,
  enums: String,
  longs: Number,
  bytes: Buffer,
};
