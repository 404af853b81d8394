import { readFile } from 'node:fs/promises';
import { caffeType, toObjectOptions } from '../proto/schemas.js';
import { parsePrototxt } from './prototxt.js';
import { textToObject } from './text-to-object.js';
import type { Blob, BlobProto, NetParameter } from './types.js';

export interface CaffeNet {
  /** The network definition (from the .prototxt). */
  net: NetParameter;
  /** Weight blobs by layer name (from the .caffemodel). */
  weights: Map<string, Blob[]>;
}

export function parseNetPrototxt(text: string): NetParameter {
  return textToObject<NetParameter>(caffeType('NetParameter'), parsePrototxt(text));
}

function blobShape(blob: BlobProto): number[] {
  if (blob.shape && blob.shape.dim.length > 0) return blob.shape.dim;
  return [blob.num, blob.channels, blob.height, blob.width];
}

/** Decodes a binary .caffemodel (NetParameter) into weight blobs by layer name. */
export function decodeCaffeModel(bytes: Uint8Array): Map<string, Blob[]> {
  const type = caffeType('NetParameter');
  const net = type.toObject(type.decode(bytes), toObjectOptions) as NetParameter;
  if (net.layer.length === 0) {
    throw new Error('caffemodel has no `layer` (field 100) entries; V1 `layers` models are not supported');
  }
  const weights = new Map<string, Blob[]>();
  for (const layer of net.layer) {
    if (layer.blobs.length === 0) continue;
    if (weights.has(layer.name)) throw new Error(`caffemodel has two layers named ${layer.name}`);
    weights.set(
      layer.name,
      layer.blobs.map((blob) => {
        const shape = blobShape(blob);
        const values = blob.data.length > 0 ? blob.data : blob.double_data;
        const count = shape.reduce((a, b) => a * b, 1);
        if (values.length !== count) {
          throw new Error(`layer ${layer.name}: blob of shape [${shape}] holds ${values.length} values, expected ${count}`);
        }
        return { shape, data: Float32Array.from(values) };
      }),
    );
  }
  return weights;
}

export async function loadCaffeNet(prototxtPath: string, caffemodelPath: string): Promise<CaffeNet> {
  const [text, bytes] = await Promise.all([readFile(prototxtPath, 'utf8'), readFile(caffemodelPath)]);
  return { net: parseNetPrototxt(text), weights: decodeCaffeModel(bytes) };
}
