import protobuf from 'protobufjs';
import { toObjectOptions } from '../proto/schemas.js';
import type { TextField, TextMessage, TextScalar } from './prototxt.js';

export class PrototxtSchemaError extends Error {
  constructor(
    message: string,
    readonly line: number,
  ) {
    super(`${message} (line ${line})`);
    this.name = 'PrototxtSchemaError';
  }
}

/** 'caffe.LayerParameter', without protobufjs's leading dot. */
const qualified = (o: protobuf.ReflectionObject | null): string => (o?.fullName ?? '').replace(/^\./, '');

const integerTypes = new Set(['int32', 'uint32', 'sint32', 'fixed32', 'sfixed32', 'int64', 'uint64', 'sint64', 'fixed64', 'sfixed64']);

function scalarValue(field: protobuf.Field, value: TextScalar, line: number): unknown {
  const where = `${qualified(field.parent)}.${field.name}`;
  const fail = (what: string): never => {
    throw new PrototxtSchemaError(`${where}: ${what}`, line);
  };
  if (field.resolvedType instanceof protobuf.Enum) {
    const values = field.resolvedType.values;
    if (value.kind === 'identifier') {
      if (!(value.text in values)) fail(`unknown enum value '${value.text}'`);
      return value.text;
    }
    if (value.kind === 'number' && Number.isInteger(value.value)) {
      const name = Object.keys(values).find((k) => values[k] === value.value);
      if (name === undefined) fail(`unknown enum number ${value.value}`);
      return name;
    }
    return fail('expected an enum value');
  }
  switch (field.type) {
    case 'string':
    case 'bytes':
      if (value.kind !== 'string') fail('expected a quoted string');
      return (value as { value: string }).value;
    case 'bool':
      if (value.kind === 'identifier' && (value.text === 'true' || value.text === 'True' || value.text === 't')) return true;
      if (value.kind === 'identifier' && (value.text === 'false' || value.text === 'False' || value.text === 'f')) return false;
      if (value.kind === 'number' && (value.value === 0 || value.value === 1)) return value.value === 1;
      return fail('expected true or false');
    case 'float':
    case 'double':
      if (value.kind !== 'number') fail('expected a number');
      return (value as { value: number }).value;
    default:
      if (!integerTypes.has(field.type)) fail(`unsupported field type ${field.type}`);
      if (value.kind !== 'number' || !Number.isInteger(value.value) || /[.eEfF]/.test(value.text.replace(/^[-+]?0[xX]/, ''))) {
        fail('expected an integer');
      }
      if (field.type.startsWith('u') || field.type.startsWith('fixed')) {
        if ((value as { value: number }).value < 0) fail('expected an unsigned integer');
      }
      return (value as { value: number }).value;
  }
}

function messageToPlain(type: protobuf.Type, message: TextMessage): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const entry of message.fields) {
    const field = type.fields[entry.name];
    if (!field) throw new PrototxtSchemaError(`unknown field '${entry.name}' in ${qualified(type)}`, entry.line);
    const value = fieldValue(field, entry);
    if (field.repeated) {
      ((out[entry.name] ??= []) as unknown[]).push(value);
    } else {
      if (entry.name in out) throw new PrototxtSchemaError(`field '${entry.name}' given twice in ${qualified(type)}`, entry.line);
      out[entry.name] = value;
    }
  }
  return out;
}

function fieldValue(field: protobuf.Field, entry: TextField): unknown {
  if (field.resolvedType instanceof protobuf.Type) {
    if (entry.value.kind !== 'message') throw new PrototxtSchemaError(`${qualified(field)}: expected a { } block`, entry.line);
    return messageToPlain(field.resolvedType, entry.value);
  }
  if (entry.value.kind === 'message') throw new PrototxtSchemaError(`${qualified(field)}: expected a scalar, got a { } block`, entry.line);
  return scalarValue(field, entry.value, entry.line);
}

/**
 * Interprets a parsed text-format tree as a message of `type`: unknown fields, wrong value
 * kinds and repeated singular fields are errors. Returns a plain object with defaults filled.
 */
export function textToObject<T>(type: protobuf.Type, message: TextMessage): T {
  const plain = messageToPlain(type, message);
  return type.toObject(type.fromObject(plain), toObjectOptions) as T;
}
