import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildKustomization, type K8sObject } from './support/kustomize.js';
import { validateManifest } from './support/k8s-models.js';
import { repoPath } from './support/paths.js';
import { readYaml, readYamlDocs } from './support/yaml.js';

const baseDir = repoPath('k8s', 'base');
const overlayDir = repoPath('k8s', 'overlays', 'production');
const baseFiles = readdirSync(baseDir).filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml');

describe('k8s manifests validate against the Kubernetes, KEDA and Prometheus Operator schemas', () => {
  it.each(baseFiles)('k8s/base/%s', (file) => {
    const docs = readYamlDocs(join(baseDir, file)) as K8sObject[];
    expect(docs.length).toBeGreaterThan(0);
    for (const doc of docs) validateManifest(doc);
  });

  it('every base file is listed in the base kustomization, and nothing listed is missing', () => {
    const listed = (readYaml(join(baseDir, 'kustomization.yaml')).resources as string[]).slice().sort();
    expect(listed).toEqual(baseFiles.slice().sort());
  });

  it('the built base and the built production overlay validate', () => {
    for (const dir of [baseDir, overlayDir]) {
      const built = buildKustomization(dir);
      expect(built.length).toBeGreaterThan(10);
      for (const r of built) validateManifest(r);
    }
  });

  it('holds every kind the deployment needs', () => {
    const kinds = buildKustomization(baseDir).map((r) => `${r.kind}/${r.metadata.name}`);
    expect(kinds).toEqual(
      expect.arrayContaining([
        'Namespace/maskq',
        'ConfigMap/maskq-config',
        'Secret/maskq-secrets',
        'Secret/maskq-redis',
        'Deployment/maskq-api',
        'Service/maskq-api',
        'HorizontalPodAutoscaler/maskq-api',
        'PodDisruptionBudget/maskq-api',
        'Deployment/maskq-worker-cpu',
        'Deployment/maskq-worker-gpu',
        'StatefulSet/redis',
        'Service/redis',
        'TriggerAuthentication/maskq-redis-auth',
        'ScaledObject/maskq-worker-cpu',
        'ScaledObject/maskq-worker-gpu',
        'ServiceMonitor/maskq-api',
        'ServiceMonitor/maskq-worker',
        'PrometheusRule/maskq',
        'NetworkPolicy/redis-clients-only',
      ]),
    );
  });

  it('the validator rejects what the API server would reject (so the checks above can fail)', () => {
    const deployment = buildKustomization(baseDir).find((r) => r.kind === 'Deployment' && r.metadata.name === 'maskq-api')!;
    const bad = structuredClone(deployment) as K8sObject & { spec: { template: { spec: { containers: { ports: { containerPort: unknown }[] }[] } } } };
    bad.spec.template.spec.containers[0]!.ports[0]!.containerPort = 'eight thousand';
    expect(() => validateManifest(bad)).toThrow(/containerPort/);

    const scaled = buildKustomization(baseDir).find((r) => r.kind === 'ScaledObject')!;
    const badScaled = structuredClone(scaled) as K8sObject & { spec: { triggers: { metadata: Record<string, unknown> }[] } };
    badScaled.spec.triggers[0]!.metadata.listLength = 64; // KEDA trigger metadata values are strings
    expect(() => validateManifest(badScaled)).toThrow(/listLength/);

    expect(() => validateManifest({ apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w' } })).toThrow(/no schema model/);
  });
});

describe('alert rules', () => {
  it('the PrometheusRule carries exactly the rule groups of deploy/prometheus/alerts.yml', () => {
    const docs = readYamlDocs(repoPath('k8s', 'base', 'monitoring.yaml')) as Array<{ kind?: string; spec?: { groups?: unknown } }>;
    const rule = docs.find((d) => d.kind === 'PrometheusRule');
    const file = readYaml(repoPath('deploy', 'prometheus', 'alerts.yml')) as { groups: unknown };
    expect(rule?.spec?.groups).toEqual(file.groups);
  });
});
