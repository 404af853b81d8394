import { z } from 'zod';

export type JsonSchema = Record<string, unknown>;

/** OpenAPI 3.1 schema objects are JSON Schema 2020-12; a schema-level `example` becomes `examples: [..]`. */
function normalise(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(normalise);
  if (!node || typeof node !== 'object') return node;
  const out: JsonSchema = {};
  for (const [key, value] of Object.entries(node)) {
    if (key === '$schema') continue;
    // `example` and `examples` hold data, not schemas: copy them unchanged.
    if (key === 'example') out.examples = [value];
    else if (key === 'examples') out.examples = value;
    else out[key] = normalise(value);
  }
  return out;
}

/**
 * The JSON Schema (2020-12) of a zod schema; `io: 'input'` for what a request
 * may send (before defaults and transforms), `output` for what a response holds.
 * The top-level example (from `.meta({ example })`) is returned apart, for the media type.
 */
export function toSchema(schema: z.ZodType, io: 'input' | 'output' = 'output'): { schema: JsonSchema; example?: unknown } {
  const raw = z.toJSONSchema(schema, { target: 'draft-2020-12', io, unrepresentable: 'any' }) as JsonSchema;
  const { example, ...rest } = raw;
  return { schema: normalise(rest) as JsonSchema, ...(example === undefined ? {} : { example }) };
}
