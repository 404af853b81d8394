import { existsSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { isObject, parseYamlDocs, readYaml, readYamlDocs, type Json, type JsonObject } from './yaml.js';

/**
 * A small kustomize: enough of `kustomize build` to compose maskq's base and overlays without the
 * kustomize binary (CI does not have it). Supported kustomization fields: resources (files and
 * directories), labels, commonLabels, patches (strategic merge, or JSON 6902 add/remove/replace/test
 * with a target), patchesStrategicMerge, namespace, images. Anything else throws, so a kustomization
 * this cannot build faithfully fails loudly instead of composing into something else.
 *
 * Strategic merge here: maps merge key by key (null deletes), lists whose items all carry a `name`
 * (containers, env, ports, volumes) merge by name (patch items first, as kustomize orders them),
 * every other list is replaced.
 */

export interface K8sObject extends JsonObject {
  apiVersion: string;
  kind: string;
  metadata: JsonObject & { name: string; namespace?: string; labels?: Record<string, string> };
}

export class KustomizeError extends Error {
  override readonly name = 'KustomizeError';
}

const supportedFields = new Set([
  'apiVersion',
  'kind',
  'resources',
  'namespace',
  'labels',
  'commonLabels',
  'images',
  'patches',
  'patchesStrategicMerge',
]);

/** Kinds without a namespace (the ones a maskq kustomization could plausibly hold). */
const clusterScopedKinds = new Set([
  'Namespace',
  'ClusterRole',
  'ClusterRoleBinding',
  'CustomResourceDefinition',
  'PersistentVolume',
  'StorageClass',
  'PriorityClass',
  'IngressClass',
  'RuntimeClass',
  'ClusterTriggerAuthentication',
  'ValidatingWebhookConfiguration',
  'MutatingWebhookConfiguration',
]);

/** Kinds whose `spec.selector.matchLabels` selects their own pods. */
const workloadKinds = new Set(['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'PodDisruptionBudget']);

export function resourceId(obj: K8sObject): string {
  return `${obj.apiVersion}/${obj.kind}/${obj.metadata.namespace ?? ''}/${obj.metadata.name}`;
}

/** `kustomize build DIR`, for the supported subset. */
export function buildKustomization(dir: string): K8sObject[] {
  const file = ['kustomization.yaml', 'kustomization.yml', 'Kustomization'].map((f) => join(dir, f)).find((f) => existsSync(f));
  if (!file) throw new KustomizeError(`${dir}: no kustomization.yaml`);
  const k = readYaml(file);
  for (const field of Object.keys(k)) {
    if (!supportedFields.has(field)) throw new KustomizeError(`${file}: field "${field}" is not supported`);
  }

  let resources: K8sObject[] = [];
  for (const entry of stringList(k.resources, `${file} resources`)) {
    const path = resolve(dir, entry);
    if (!existsSync(path)) throw new KustomizeError(`${file}: resource ${entry} does not exist`);
    if (statSync(path).isDirectory()) resources.push(...buildKustomization(path));
    else resources.push(...readYamlDocs(path).map((doc) => asK8sObject(doc, path)));
  }
  assertUnique(resources, file);

  // kustomize's built-in order: labels, patches, namespace, images.
  for (const entry of list(k.labels, `${file} labels`)) {
    if (!isObject(entry) || !isObject(entry.pairs)) throw new KustomizeError(`${file}: labels entries need pairs`);
    const pairs = stringMap(entry.pairs, `${file} labels.pairs`);
    const selectors = entry.includeSelectors === true;
    resources = resources.map((r) => addLabels(r, pairs, { selectors, templates: selectors || entry.includeTemplates === true }));
  }
  if (k.commonLabels !== undefined) {
    const pairs = stringMap(k.commonLabels, `${file} commonLabels`);
    resources = resources.map((r) => addLabels(r, pairs, { selectors: true, templates: true }));
  }

  for (const path of stringList(k.patchesStrategicMerge, `${file} patchesStrategicMerge`)) {
    resources = applyPatch(resources, { path }, dir, file);
  }
  for (const entry of list(k.patches, `${file} patches`)) {
    if (!isObject(entry)) throw new KustomizeError(`${file}: patches entries must be mappings`);
    resources = applyPatch(resources, entry, dir, file);
  }

  if (k.namespace !== undefined) {
    if (typeof k.namespace !== 'string') throw new KustomizeError(`${file}: namespace must be a string`);
    const namespace = k.namespace;
    resources = resources.map((r) => setNamespace(r, namespace));
  }

  for (const entry of list(k.images, `${file} images`)) {
    if (!isObject(entry) || typeof entry.name !== 'string') throw new KustomizeError(`${file}: images entries need a name`);
    const rule = entry as unknown as ImageRule;
    resources = resources.map((r) => mapContainers(r, (c) => ({ ...c, image: retag(String(c.image), rule) })));
  }

  assertUnique(resources, file);
  return resources;
}

// ---------------------------------------------------------------------------------------- patches

interface PatchTarget {
  group?: string;
  version?: string;
  kind?: string;
  name?: string;
  namespace?: string;
}

function applyPatch(resources: K8sObject[], entry: JsonObject, dir: string, file: string): K8sObject[] {
  let text: string;
  if (typeof entry.path === 'string') {
    const path = resolve(dir, entry.path);
    if (!existsSync(path)) throw new KustomizeError(`${file}: patch ${entry.path} does not exist`);
    text = readFileSync(path, 'utf8');
  } else if (typeof entry.patch === 'string') {
    text = entry.patch;
  } else {
    throw new KustomizeError(`${file}: a patch needs path or patch`);
  }
  if (entry.options !== undefined) throw new KustomizeError(`${file}: patch options are not supported`);
  const target = entry.target === undefined ? undefined : parseTarget(entry.target, file);

  // A JSON 6902 patch is one YAML list; a strategic-merge patch is one or more mappings.
  const parsed = (text.trimStart().startsWith('-') || text.trimStart().startsWith('[') ? parseYaml(text) : null) as Json;
  if (Array.isArray(parsed)) {
    if (!target) throw new KustomizeError(`${file}: a JSON 6902 patch needs a target`);
    const matched = resources.filter((r) => matches(r, target));
    if (matched.length === 0) throw new KustomizeError(`${file}: patch target ${JSON.stringify(target)} matches nothing`);
    return resources.map((r) => (matches(r, target) ? (applyJson6902(r, parsed, file) as K8sObject) : r));
  }

  let out = resources;
  for (const doc of parseYamlDocs(text, file)) {
    const docTarget: PatchTarget = target ?? targetOf(doc, file);
    const matched = out.filter((r) => matches(r, docTarget));
    if (matched.length === 0) throw new KustomizeError(`${file}: patch for ${JSON.stringify(docTarget)} matches nothing`);
    out = out.map((r) => {
      if (!matches(r, docTarget)) return r;
      // The patch's own identity fields never rename the target.
      const { apiVersion: _a, kind: _k, ...body } = doc;
      const bodyMeta = isObject(body.metadata) ? { ...body.metadata } : undefined;
      if (bodyMeta) delete bodyMeta.name;
      const merged = strategicMerge(r, { ...body, ...(bodyMeta ? { metadata: bodyMeta } : {}) }) as K8sObject;
      return merged;
    });
  }
  return out;
}

function parseTarget(value: Json, file: string): PatchTarget {
  if (!isObject(value)) throw new KustomizeError(`${file}: patch target must be a mapping`);
  for (const key of Object.keys(value)) {
    if (!['group', 'version', 'kind', 'name', 'namespace'].includes(key)) {
      throw new KustomizeError(`${file}: patch target field "${key}" is not supported`);
    }
  }
  return value as PatchTarget;
}

function targetOf(doc: JsonObject, file: string): PatchTarget {
  const obj = asK8sObject(doc, file);
  const { group, version } = splitApiVersion(obj.apiVersion);
  return { group, version, kind: obj.kind, name: obj.metadata.name, ...(obj.metadata.namespace ? { namespace: obj.metadata.namespace } : {}) };
}

function splitApiVersion(apiVersion: string): { group: string; version: string } {
  const slash = apiVersion.indexOf('/');
  return slash < 0 ? { group: '', version: apiVersion } : { group: apiVersion.slice(0, slash), version: apiVersion.slice(slash + 1) };
}

function matches(r: K8sObject, t: PatchTarget): boolean {
  const { group, version } = splitApiVersion(r.apiVersion);
  const anchored = (pattern: string, value: string) => new RegExp(`^(?:${pattern})$`).test(value);
  return (
    (t.group === undefined || t.group === group) &&
    (t.version === undefined || t.version === version) &&
    (t.kind === undefined || t.kind === r.kind) &&
    (t.name === undefined || anchored(t.name, r.metadata.name)) &&
    (t.namespace === undefined || t.namespace === (r.metadata.namespace ?? ''))
  );
}

/** Strategic-merge subset (see the module comment). */
export function strategicMerge(base: Json | undefined, patch: Json): Json {
  if (isObject(base) && isObject(patch)) {
    if ('$patch' in patch) throw new KustomizeError('$patch directives are not supported');
    const out: JsonObject = { ...base };
    for (const [key, value] of Object.entries(patch)) {
      if (value === null) delete out[key];
      else out[key] = key in out ? strategicMerge(out[key], value) : value;
    }
    return out;
  }
  if (Array.isArray(base) && Array.isArray(patch) && allNamed(base) && allNamed(patch)) {
    // kustomize's order: the patch's items (merged into their base twins), then the base's others.
    const patched = patch.map((item) => {
      const twin = base.find((o) => o.name === item.name);
      return twin ? strategicMerge(twin, item) : item;
    });
    return [...patched, ...base.filter((o) => !patch.some((p) => p.name === o.name))];
  }
  return patch;
}

function allNamed(items: Json[]): items is JsonObject[] {
  return items.length > 0 && items.every((i) => isObject(i) && typeof i.name === 'string');
}

/** RFC 6902 add, remove, replace and test. */
export function applyJson6902(doc: JsonObject, ops: Json[], source = '<patch>'): JsonObject {
  const root = structuredClone(doc);
  for (const op of ops) {
    if (!isObject(op) || typeof op.op !== 'string' || typeof op.path !== 'string') {
      throw new KustomizeError(`${source}: each JSON 6902 operation needs op and path`);
    }
    const tokens = op.path.split('/').slice(1).map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'));
    if (op.path === '' || op.path[0] !== '/') throw new KustomizeError(`${source}: bad JSON pointer "${op.path}"`);
    const last = tokens.pop()!;
    let parent: Json = root;
    for (const token of tokens) {
      const next: Json | undefined = Array.isArray(parent) ? parent[Number(token)] : isObject(parent) ? parent[token] : undefined;
      if (next === undefined) throw new KustomizeError(`${source}: path ${op.path} does not exist`);
      parent = next;
    }
    const exists = Array.isArray(parent) ? last === '-' || Number(last) < parent.length : isObject(parent) && last in parent;
    switch (op.op) {
      case 'add':
        if (Array.isArray(parent)) parent.splice(last === '-' ? parent.length : Number(last), 0, op.value as Json);
        else if (isObject(parent)) parent[last] = op.value as Json;
        else throw new KustomizeError(`${source}: cannot add at ${op.path}`);
        break;
      case 'replace':
      case 'remove':
        if (!exists || last === '-') throw new KustomizeError(`${source}: ${op.op} of missing ${op.path}`);
        if (Array.isArray(parent)) {
          if (op.op === 'replace') parent[Number(last)] = op.value as Json;
          else parent.splice(Number(last), 1);
        } else if (isObject(parent)) {
          if (op.op === 'replace') parent[last] = op.value as Json;
          else delete parent[last];
        }
        break;
      case 'test': {
        const current = Array.isArray(parent) ? parent[Number(last)] : isObject(parent) ? parent[last] : undefined;
        if (JSON.stringify(current) !== JSON.stringify(op.value)) throw new KustomizeError(`${source}: test failed at ${op.path}`);
        break;
      }
      default:
        throw new KustomizeError(`${source}: JSON 6902 op "${op.op}" is not supported`);
    }
  }
  return root;
}

// ----------------------------------------------------------------------------------- transformers

function setNamespace(r: K8sObject, namespace: string): K8sObject {
  if (r.kind === 'Namespace') return { ...r, metadata: { ...r.metadata, name: namespace } };
  if (clusterScopedKinds.has(r.kind)) return r;
  return { ...r, metadata: { ...r.metadata, namespace } };
}

function addLabels(r: K8sObject, pairs: Record<string, string>, opts: { selectors: boolean; templates: boolean }): K8sObject {
  const out = structuredClone(r);
  out.metadata.labels = { ...(out.metadata.labels ?? {}), ...pairs };
  const spec = out.spec;
  if (!isObject(spec)) return out;
  if (opts.templates && isObject(spec.template)) {
    const meta = isObject(spec.template.metadata) ? spec.template.metadata : (spec.template.metadata = {});
    meta.labels = { ...(isObject(meta.labels) ? meta.labels : {}), ...pairs };
  }
  if (opts.templates && Array.isArray(spec.volumeClaimTemplates)) {
    for (const claim of spec.volumeClaimTemplates) {
      if (!isObject(claim)) continue;
      const meta = isObject(claim.metadata) ? claim.metadata : (claim.metadata = {});
      meta.labels = { ...(isObject(meta.labels) ? meta.labels : {}), ...pairs };
    }
  }
  if (opts.selectors) {
    if (out.kind === 'Service') spec.selector = { ...(isObject(spec.selector) ? spec.selector : {}), ...pairs };
    if (workloadKinds.has(out.kind)) {
      const selector = isObject(spec.selector) ? spec.selector : (spec.selector = {});
      selector.matchLabels = { ...(isObject(selector.matchLabels) ? selector.matchLabels : {}), ...pairs };
    }
  }
  return out;
}

interface ImageRule {
  name: string;
  newName?: string;
  newTag?: string | number;
  digest?: string;
}

export interface ImageRef {
  name: string;
  tag?: string;
  digest?: string;
}

export function parseImage(ref: string): ImageRef {
  const [nameTag = '', digest] = ref.split('@') as [string, string | undefined];
  const colon = nameTag.lastIndexOf(':');
  const hasTag = colon > nameTag.lastIndexOf('/');
  return {
    name: hasTag ? nameTag.slice(0, colon) : nameTag,
    ...(hasTag ? { tag: nameTag.slice(colon + 1) } : {}),
    ...(digest ? { digest } : {}),
  };
}

function retag(ref: string, rule: ImageRule): string {
  const image = parseImage(ref);
  if (image.name !== rule.name) return ref;
  const name = rule.newName ?? image.name;
  if (rule.digest) return `${name}@${rule.digest}`;
  const tag = rule.newTag !== undefined ? String(rule.newTag) : image.tag;
  return `${name}${tag !== undefined ? `:${tag}` : ''}${!rule.newTag && image.digest ? `@${image.digest}` : ''}`;
}

/** Applies `fn` to every container (containers, initContainers) anywhere in the object. */
export function mapContainers(r: K8sObject, fn: (container: JsonObject) => JsonObject): K8sObject {
  const walk = (node: Json): Json => {
    if (Array.isArray(node)) return node.map(walk);
    if (!isObject(node)) return node;
    const out: JsonObject = {};
    for (const [key, value] of Object.entries(node)) {
      out[key] =
        (key === 'containers' || key === 'initContainers') && Array.isArray(value)
          ? value.map((c) => (isObject(c) && typeof c.image === 'string' ? fn(walk(c) as JsonObject) : walk(c)))
          : walk(value);
    }
    return out;
  };
  return walk(r) as K8sObject;
}

/** Every container image reference in the resources. */
export function imagesOf(resources: K8sObject[]): string[] {
  const images: string[] = [];
  for (const r of resources) {
    mapContainers(r, (c) => {
      images.push(String(c.image));
      return c;
    });
  }
  return images;
}

// ------------------------------------------------------------------------------------------ misc

function asK8sObject(doc: JsonObject, source: string): K8sObject {
  const meta = doc.metadata;
  if (typeof doc.apiVersion !== 'string' || typeof doc.kind !== 'string' || !isObject(meta) || typeof meta.name !== 'string') {
    throw new KustomizeError(`${source}: every document needs apiVersion, kind and metadata.name`);
  }
  return doc as K8sObject;
}

function assertUnique(resources: K8sObject[], file: string): void {
  const seen = new Set<string>();
  for (const r of resources) {
    const id = resourceId(r);
    if (seen.has(id)) throw new KustomizeError(`${file}: ${id} is defined twice`);
    seen.add(id);
  }
}

function list(value: Json | undefined, what: string): Json[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw new KustomizeError(`${what} must be a list`);
  return value;
}

function stringList(value: Json | undefined, what: string): string[] {
  return list(value, what).map((v) => {
    if (typeof v !== 'string') throw new KustomizeError(`${what} must hold strings`);
    return v;
  });
}

function stringMap(value: Json, what: string): Record<string, string> {
  if (!isObject(value)) throw new KustomizeError(`${what} must be a mapping`);
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, String(v)]));
}
