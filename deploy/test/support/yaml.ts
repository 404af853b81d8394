import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

/**
 * Every non-empty document of a YAML file (or string), as plain data. YAML merge keys (`<<`) are
 * resolved, as docker compose does; any parse error or warning throws with the file name.
 */
export function parseYamlDocs(text: string, source = '<inline>'): JsonObject[] {
  const docs = parseAllDocuments(text, { merge: true, prettyErrors: true });
  const out: JsonObject[] = [];
  for (const doc of docs) {
    const problems = [...doc.errors, ...doc.warnings];
    if (problems.length > 0) {
      throw new Error(`${source}: ${problems.map((p) => p.message).join('; ')}`);
    }
    const value = doc.toJS({ maxAliasCount: -1 }) as Json;
    if (value === null || value === undefined) continue;
    if (typeof value !== 'object' || Array.isArray(value)) {
      throw new Error(`${source}: expected a mapping per document, got ${Array.isArray(value) ? 'a list' : typeof value}`);
    }
    out.push(value);
  }
  return out;
}

export function readYamlDocs(file: string): JsonObject[] {
  return parseYamlDocs(readFileSync(file, 'utf8'), file);
}

/** A file that must hold exactly one YAML document. */
export function readYaml(file: string): JsonObject {
  const docs = readYamlDocs(file);
  if (docs.length !== 1) throw new Error(`${file}: expected one YAML document, found ${docs.length}`);
  return docs[0]!;
}

export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
