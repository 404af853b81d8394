import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { applyJson6902, buildKustomization, imagesOf, KustomizeError, parseImage, resourceId, strategicMerge, type K8sObject } from './support/kustomize.js';
import { validateManifest } from './support/k8s-models.js';
import type { Anything } from './support/deployment.js';
import { repoPath } from './support/paths.js';
import { readYaml } from './support/yaml.js';

const baseDir = repoPath('k8s', 'base');
const overlayDir = repoPath('k8s', 'overlays', 'production');

type Any = K8sObject & { spec: Anything };
const find = (rs: K8sObject[], kind: string, name: string): Any => {
  const r = rs.find((x) => x.kind === kind && x.metadata.name === name);
  if (!r) throw new Error(`${kind}/${name} not found`);
  return r as Any;
};

describe('production overlay composes over the base', () => {
  const base = buildKustomization(baseDir);
  const prod = buildKustomization(overlayDir);

  it('keeps every base resource and adds none', () => {
    expect(prod.map(resourceId).sort()).toEqual(base.map(resourceId).sort());
  });

  it('puts every namespaced resource into the namespace, labels all of them, and validates', () => {
    for (const r of prod) {
      if (r.kind === 'Namespace') expect(r.metadata.name).toBe('maskq');
      else expect(r.metadata.namespace, resourceId(r)).toBe('maskq');
      expect(r.metadata.labels?.environment, resourceId(r)).toBe('production');
      expect(r.metadata.labels?.['app.kubernetes.io/part-of'], resourceId(r)).toBe('maskq');
      validateManifest(r);
    }
  });

  it('pins registry images, and every overlay image rule matches an image the base uses', () => {
    const baseImageNames = new Set(imagesOf(base).map((i) => parseImage(i).name));
    const rules = readYaml(join(overlayDir, 'kustomization.yaml')).images as { name: string }[];
    for (const rule of rules) expect(baseImageNames, `images rule ${rule.name}`).toContain(rule.name);

    expect(imagesOf(prod).sort()).toEqual(
      [
        'redis:7.4-alpine',
        'registry.example.com/maskq/api:1.0.0',
        'registry.example.com/maskq/worker-gpu:1.0.0',
        'registry.example.com/maskq/worker:1.0.0',
      ].sort(),
    );
  });

  it('applies the strategic-merge patches without losing what they do not mention', () => {
    const api = find(prod, 'Deployment', 'maskq-api');
    expect(api.spec.replicas).toBe(3);
    const container = api.spec.template.spec.containers[0];
    expect(container.resources.limits).toEqual({ cpu: '2', memory: '1Gi' });
    // Untouched by the patch: probes, ports, env sources, image (re-tagged by the overlay).
    expect(container.readinessProbe.httpGet.path).toBe('/ready');
    expect(container.ports[0].containerPort).toBe(8000);
    expect(container.envFrom).toHaveLength(2);
    expect(api.spec.selector.matchLabels).toEqual(find(base, 'Deployment', 'maskq-api').spec.selector.matchLabels);

    expect(find(prod, 'HorizontalPodAutoscaler', 'maskq-api').spec.minReplicas).toBe(3);
    const claim = find(prod, 'StatefulSet', 'redis').spec.volumeClaimTemplates[0];
    expect(claim.spec.storageClassName).toBe('fast-ssd');
    expect(claim.spec.resources.requests.storage).toBe('50Gi');
  });

  it('applies the JSON 6902 patch to its target only', () => {
    expect(find(prod, 'ScaledObject', 'maskq-worker-gpu').spec.maxReplicaCount).toBe(8);
    expect(find(prod, 'ScaledObject', 'maskq-worker-cpu').spec.maxReplicaCount).toBe(find(base, 'ScaledObject', 'maskq-worker-cpu').spec.maxReplicaCount);
  });
});

describe('kustomize subset', () => {
  const dirs: string[] = [];
  afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
  const tree = (files: Record<string, string>): string => {
    const root = mkdtempSync(join(tmpdir(), 'maskq-kustomize-'));
    dirs.push(root);
    for (const [path, text] of Object.entries(files)) {
      mkdirSync(join(root, path, '..'), { recursive: true });
      writeFileSync(join(root, path), text);
    }
    return root;
  };
  const deployment = `apiVersion: apps/v1
kind: Deployment
metadata: { name: web, labels: { app: web } }
spec:
  selector: { matchLabels: { app: web } }
  template:
    metadata: { labels: { app: web } }
    spec:
      containers:
        - name: web
          image: example/web:1
          env: [{ name: A, value: "1" }, { name: B, value: "2" }]
        - name: sidecar
          image: example/side@sha256:abc
`;

  it('merges containers and env by name, deletes with null, replaces other lists', () => {
    const merged = strategicMerge(
      { a: { keep: 1, drop: 2 }, list: [1, 2], items: [{ name: 'x', v: 1 }, { name: 'y', v: 2 }] },
      { a: { drop: null, add: 3 }, list: [3], items: [{ name: 'y', v: 9 }, { name: 'z', v: 0 }] },
    );
    expect(merged).toEqual({ a: { keep: 1, add: 3 }, list: [3], items: [{ name: 'y', v: 9 }, { name: 'z', v: 0 }, { name: 'x', v: 1 }] });
  });

  it('runs JSON 6902 add, replace, remove and test, and refuses a missing path', () => {
    const doc = { spec: { list: [1, 2], value: 'a' } };
    expect(
      applyJson6902(doc, [
        { op: 'test', path: '/spec/value', value: 'a' },
        { op: 'add', path: '/spec/list/-', value: 3 },
        { op: 'replace', path: '/spec/value', value: 'b' },
        { op: 'remove', path: '/spec/list/0' },
        { op: 'add', path: '/spec/new~1key', value: true },
      ]),
    ).toEqual({ spec: { list: [2, 3], value: 'b', 'new/key': true } });
    expect(doc.spec.list).toEqual([1, 2]); // the input is not mutated
    expect(() => applyJson6902(doc, [{ op: 'replace', path: '/spec/nope', value: 1 }])).toThrow(KustomizeError);
    expect(() => applyJson6902(doc, [{ op: 'test', path: '/spec/value', value: 'z' }])).toThrow(/test failed/);
  });

  it('builds nested overlays: commonLabels reach selectors, images keep digests unless overridden', () => {
    const root = tree({
      'base/deploy.yaml': deployment,
      'base/kustomization.yaml': 'resources: [deploy.yaml]\nnamespace: one\n',
      'overlay/kustomization.yaml': `resources: [../base]
namespace: two
commonLabels: { team: vision }
images:
  - { name: example/web, newName: registry.local/web, newTag: "2" }
patches:
  - patch: |-
      apiVersion: apps/v1
      kind: Deployment
      metadata: { name: web }
      spec:
        template:
          spec:
            containers:
              - name: web
                env: [{ name: B, value: "20" }, { name: C, value: "3" }]
`,
    });
    const [web] = buildKustomization(join(root, 'overlay')) as Any[];
    expect(web!.metadata.namespace).toBe('two');
    expect(web!.metadata.labels).toEqual({ app: 'web', team: 'vision' });
    expect(web!.spec.selector.matchLabels).toEqual({ app: 'web', team: 'vision' });
    expect(web!.spec.template.metadata.labels).toEqual({ app: 'web', team: 'vision' });
    const [main, side] = web!.spec.template.spec.containers;
    expect(main.image).toBe('registry.local/web:2');
    // Same result, same order as `kubectl kustomize` (v5.5) gives for this tree.
    expect(main.env).toEqual([{ name: 'B', value: '20' }, { name: 'C', value: '3' }, { name: 'A', value: '1' }]);
    expect(side.image).toBe('example/side@sha256:abc');
  });

  it('fails loudly on what it does not support or cannot match', () => {
    const unsupported = tree({ 'k/deploy.yaml': deployment, 'k/kustomization.yaml': 'resources: [deploy.yaml]\nnamePrefix: x-\n' });
    expect(() => buildKustomization(join(unsupported, 'k'))).toThrow(/namePrefix/);
    const unmatched = tree({
      'k/deploy.yaml': deployment,
      'k/kustomization.yaml': 'resources: [deploy.yaml]\npatches:\n  - target: { kind: Deployment, name: nope }\n    patch: "[{op: remove, path: /spec}]"\n',
    });
    expect(() => buildKustomization(join(unmatched, 'k'))).toThrow(/matches nothing/);
    const missing = tree({ 'k/kustomization.yaml': 'resources: [gone.yaml]\n' });
    expect(() => buildKustomization(join(missing, 'k'))).toThrow(/does not exist/);
    const twice = tree({ 'k/a.yaml': deployment, 'k/b.yaml': deployment, 'k/kustomization.yaml': 'resources: [a.yaml, b.yaml]\n' });
    expect(() => buildKustomization(join(twice, 'k'))).toThrow(/defined twice/);
  });
});
