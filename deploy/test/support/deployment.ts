import { configSchema } from '@maskq/shared';
import type { K8sObject } from './kustomize.js';
import { isObject, type Json, type JsonObject } from './yaml.js';

/** Every environment variable maskq's config declares. */
export const configKeys: string[] = Object.keys(configSchema.shape);

/** Config keys that must be set: unset, they fail validation (optional keys may stay unset). */
export const keysWithoutDefault: string[] = configKeys.filter((key) => {
  const field = configSchema.shape[key as keyof typeof configSchema.shape];
  return !field.safeParse(undefined).success;
});

export interface AppContainer {
  workload: K8sObject;
  podLabels: Record<string, string>;
  podSpec: JsonObject;
  container: JsonObject;
  /** The environment Kubernetes gives the container: envFrom ConfigMaps/Secrets, then env. */
  env: Record<string, string>;
}

/** Parsed manifests are untyped data; tests navigate them freely and let assertions do the checking. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Anything = Record<string, any>;

function secretData(secret: Anything): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries((secret.data ?? {}) as Record<string, string>)) out[k] = Buffer.from(v, 'base64').toString('utf8');
  return { ...out, ...((secret.stringData ?? {}) as Record<string, string>) };
}

export function findResource(resources: K8sObject[], kind: string, name: string): Anything {
  const r = resources.find((x) => x.kind === kind && x.metadata.name === name);
  if (!r) throw new Error(`${kind}/${name} not found`);
  return r;
}

export function configMapOrSecret(resources: K8sObject[], kind: 'ConfigMap' | 'Secret', name: string): Record<string, string> {
  const r = findResource(resources, kind, name);
  return kind === 'ConfigMap' ? { ...((r.data ?? {}) as Record<string, string>) } : secretData(r);
}

/** Containers of the maskq Deployments (API and workers), with their effective environment. */
export function appContainers(resources: K8sObject[]): AppContainer[] {
  const out: AppContainer[] = [];
  for (const workload of resources.filter((r) => r.kind === 'Deployment')) {
    const template = (workload as Anything).spec.template;
    const podLabels = template.metadata.labels as Record<string, string>;
    if (!['api', 'worker'].includes(podLabels['app.kubernetes.io/component'] ?? '')) continue;
    for (const container of template.spec.containers as JsonObject[]) {
      const env: Record<string, string> = {};
      for (const from of (container.envFrom ?? []) as Anything[]) {
        if (from.configMapRef) Object.assign(env, configMapOrSecret(resources, 'ConfigMap', from.configMapRef.name));
        else if (from.secretRef) Object.assign(env, configMapOrSecret(resources, 'Secret', from.secretRef.name));
        else throw new Error(`unsupported envFrom in ${workload.metadata.name}`);
      }
      for (const entry of (container.env ?? []) as Anything[]) {
        if (typeof entry.value !== 'string') throw new Error(`${workload.metadata.name}: env ${entry.name} must be a plain string value`);
        env[entry.name] = entry.value;
      }
      out.push({ workload, podLabels, podSpec: template.spec, container, env });
    }
  }
  return out;
}

/** The container port a probe/Service port (number or name) refers to. */
export function containerPort(container: JsonObject, port: Json | undefined): number {
  if (typeof port === 'number') return port;
  const named = ((container.ports ?? []) as Anything[]).find((p) => p.name === port);
  if (!named) throw new Error(`container ${String(container.name)} has no port named ${String(port)}`);
  return named.containerPort as number;
}

/** Whether a matchLabels selector selects the labels. */
export function selects(selector: Record<string, string>, labels: Record<string, string>): boolean {
  return Object.entries(selector).every(([k, v]) => labels[k] === v);
}

export function asObject(value: unknown, what: string): Anything {
  if (!isObject(value)) throw new Error(`${what} is not a mapping`);
  return value;
}
