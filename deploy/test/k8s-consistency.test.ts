import { createKeys, loadConfig, redisMode } from '@maskq/shared';
import { describe, expect, it } from 'vitest';
import {
  appContainers,
  configKeys,
  configMapOrSecret,
  containerPort,
  findResource,
  keysWithoutDefault,
  selects,
  type Anything,
} from './support/deployment.js';
import { buildKustomization, type K8sObject } from './support/kustomize.js';
import { repoPath } from './support/paths.js';

const builds: [string, K8sObject[]][] = [
  ['base', buildKustomization(repoPath('k8s', 'base'))],
  ['production', buildKustomization(repoPath('k8s', 'overlays', 'production'))],
];

describe.each(builds)('k8s %s: configuration', (_name, resources) => {
  const containers = appContainers(resources);
  const configMap = configMapOrSecret(resources, 'ConfigMap', 'maskq-config');
  const secret = configMapOrSecret(resources, 'Secret', 'maskq-secrets');

  it('has the API, the CPU worker and the GPU worker', () => {
    expect(containers.map((c) => c.workload.metadata.name).sort()).toEqual(['maskq-api', 'maskq-worker-cpu', 'maskq-worker-gpu']);
  });

  it('sets every config key without a default in the ConfigMap/Secret', () => {
    for (const key of keysWithoutDefault) expect(Object.keys({ ...configMap, ...secret }), key).toContain(key);
  });

  it('names only real config keys in the ConfigMap, the app Secret and container env (no typos)', () => {
    for (const key of Object.keys(configMap)) expect(configKeys, `ConfigMap ${key}`).toContain(key);
    for (const key of Object.keys(secret)) expect(configKeys, `Secret ${key}`).toContain(key);
    for (const { workload, env } of containers) {
      for (const key of Object.keys(env)) expect(configKeys, `${workload.metadata.name} env ${key}`).toContain(key);
    }
  });

  it('gives every container an environment that passes the config schema', () => {
    for (const { workload, env, podLabels } of containers) {
      const config = loadConfig(env);
      if (podLabels['app.kubernetes.io/component'] === 'api') {
        expect(config.HOST, 'the API must listen beyond loopback in a pod').toBe('0.0.0.0');
      } else {
        expect(config.WORKER_METRICS_HOST).toBe('0.0.0.0');
        expect(config.EXECUTION_PROVIDER, workload.metadata.name).toBe(podLabels['maskq.io/accelerator'] === 'gpu' ? 'cuda' : 'cpu');
        expect(config.MODEL_DIR).toBe('/app/models/face-mask/1.0.0');
      }
    }
  });

  it('keeps REDIS_URL pointing at the Redis Service with the password Redis and KEDA use', () => {
    const url = new URL(secret.REDIS_URL!);
    const namespace = findResource(resources, 'Service', 'redis').metadata.namespace;
    expect(url.hostname).toBe(`redis.${namespace}.svc.cluster.local`);
    expect(Number(url.port)).toBe(findResource(resources, 'Service', 'redis').spec.ports[0].port);
    expect(decodeURIComponent(url.password)).toBe(configMapOrSecret(resources, 'Secret', 'maskq-redis').password);
  });
});

describe.each(builds)('k8s %s: probes, ports and monitoring', (_name, resources) => {
  const containers = appContainers(resources);

  it('probes the endpoints each process serves, on the port it listens on', () => {
    for (const { workload, container, env, podLabels } of containers) {
      const config = loadConfig(env);
      const isApi = podLabels['app.kubernetes.io/component'] === 'api';
      const port = isApi ? config.PORT : config.WORKER_METRICS_PORT;
      const c = container as Anything;
      expect(c.livenessProbe.httpGet.path, workload.metadata.name).toBe('/health');
      expect(c.readinessProbe.httpGet.path, workload.metadata.name).toBe('/ready');
      for (const probe of ['livenessProbe', 'readinessProbe', 'startupProbe']) {
        if (c[probe]) expect(containerPort(container, c[probe].httpGet.port), `${workload.metadata.name} ${probe}`).toBe(port);
      }
    }
  });

  it('routes every Service and ServiceMonitor port to the port the selected process listens on', () => {
    const monitors = resources.filter((r) => r.kind === 'ServiceMonitor') as Anything[];
    expect(monitors.length).toBe(2);
    for (const monitor of monitors) {
      const services = resources.filter(
        (r) => r.kind === 'Service' && selects(monitor.spec.selector.matchLabels, r.metadata.labels ?? {}),
      ) as Anything[];
      expect(services.length, monitor.metadata.name).toBeGreaterThan(0);
      for (const service of services) {
        const pods = containers.filter((c) => selects(service.spec.selector, c.podLabels));
        expect(pods.length, service.metadata.name).toBeGreaterThan(0);
        for (const endpoint of monitor.spec.endpoints) {
          expect(endpoint.path).toBe('/metrics');
          const servicePort = service.spec.ports.find((p: Anything) => p.name === endpoint.port);
          expect(servicePort, `${monitor.metadata.name} port ${endpoint.port} on ${service.metadata.name}`).toBeDefined();
          for (const pod of pods) {
            const config = loadConfig(pod.env);
            const listens = pod.podLabels['app.kubernetes.io/component'] === 'api' ? config.PORT : config.WORKER_METRICS_PORT;
            expect(containerPort(pod.container, servicePort.targetPort), `${service.metadata.name} → ${pod.workload.metadata.name}`).toBe(listens);
          }
        }
      }
    }
  });

  it('gives workers longer than their drain timeout to stop, and the API time for in-flight sync waits', () => {
    for (const { workload, env, podSpec, podLabels } of containers) {
      const config = loadConfig(env);
      const graceMs = (podSpec.terminationGracePeriodSeconds as number) * 1000;
      if (podLabels['app.kubernetes.io/component'] === 'worker') {
        expect(graceMs, workload.metadata.name).toBeGreaterThanOrEqual(config.SHUTDOWN_TIMEOUT_MS + 15_000);
      } else {
        expect(graceMs).toBeGreaterThan(config.SYNC_TIMEOUT_MS);
      }
    }
  });

  it('sets requests and limits on every container and runs them as non-root', () => {
    for (const r of resources.filter((x) => ['Deployment', 'StatefulSet'].includes(x.kind)) as Anything[]) {
      const pod = r.spec.template.spec;
      expect(pod.securityContext.runAsNonRoot, r.metadata.name).toBe(true);
      for (const c of pod.containers) {
        expect(c.resources.requests, `${r.metadata.name}/${c.name}`).toMatchObject({ cpu: expect.anything(), memory: expect.anything() });
        expect(c.resources.limits, `${r.metadata.name}/${c.name}`).toMatchObject({ cpu: expect.anything(), memory: expect.anything() });
        expect(c.securityContext.allowPrivilegeEscalation).toBe(false);
      }
    }
  });

  it('puts the GPU worker on a GPU node', () => {
    const gpu = findResource(resources, 'Deployment', 'maskq-worker-gpu').spec.template.spec;
    expect(gpu.containers[0].resources.limits['nvidia.com/gpu']).toBe(1);
    expect(Object.keys(gpu.nodeSelector).length).toBeGreaterThan(0);
    expect(gpu.tolerations).toContainEqual(expect.objectContaining({ key: 'nvidia.com/gpu', effect: 'NoSchedule' }));
    const cpu = findResource(resources, 'Deployment', 'maskq-worker-cpu').spec.template.spec;
    expect(cpu.containers[0].resources.limits['nvidia.com/gpu']).toBeUndefined();
  });
});

describe.each(builds)('k8s %s: Redis, KEDA and network policy', (_name, resources) => {
  const configMap = configMapOrSecret(resources, 'ConfigMap', 'maskq-config');
  const redisService = findResource(resources, 'Service', 'redis');
  const redis = findResource(resources, 'StatefulSet', 'redis');

  it('runs Redis with AOF on a persistent volume behind a headless Service', () => {
    const args: string[] = redis.spec.template.spec.containers[0].args;
    expect(args.join(' ')).toContain('--appendonly yes');
    expect(args.join(' ')).toContain('--appendfsync everysec');
    expect(args.join(' ')).toContain('--maxmemory-policy noeviction');
    expect(args.join(' ')).toContain('--requirepass $(REDIS_PASSWORD)');
    expect(redis.spec.serviceName).toBe(redisService.metadata.name);
    expect(redisService.spec.clusterIP).toBe('None');
    const claim = redis.spec.volumeClaimTemplates[0];
    const mount = redis.spec.template.spec.containers[0].volumeMounts.find((m: Anything) => m.name === claim.metadata.name);
    expect(mount?.mountPath).toBe(args[args.indexOf('--dir') + 1]);
  });

  it('KEDA watches the detection wait list of the configured queue prefix', () => {
    const waitList = createKeys(loadConfig(configMap).QUEUE_PREFIX).detectWaitList();
    const scaled = resources.filter((r) => r.kind === 'ScaledObject') as Anything[];
    expect(scaled.map((s) => s.spec.scaleTargetRef.name).sort()).toEqual(['maskq-worker-cpu', 'maskq-worker-gpu']);
    for (const s of scaled) {
      const [trigger] = s.spec.triggers;
      expect(trigger.type).toBe('redis');
      expect(trigger.metadata.listName).toBe(waitList);
      expect(trigger.metadata.address).toBe(`redis.${redisService.metadata.namespace}.svc.cluster.local:${redisService.spec.ports[0].port}`);
      expect(Number(trigger.metadata.listLength)).toBeGreaterThan(0);
      expect(Number(trigger.metadata.activationListLength)).toBeGreaterThanOrEqual(0);
      findResource(resources, 'Deployment', s.spec.scaleTargetRef.name);
      const auth = findResource(resources, 'TriggerAuthentication', trigger.authenticationRef.name);
      for (const ref of auth.spec.secretTargetRef) {
        expect(configMapOrSecret(resources, 'Secret', ref.name)[ref.key], `${ref.name}/${ref.key}`).toBeDefined();
      }
    }
    const byTarget = Object.fromEntries(scaled.map((s) => [s.spec.scaleTargetRef.name, s.spec]));
    expect(byTarget['maskq-worker-cpu'].minReplicaCount).toBe(1);
    expect(byTarget['maskq-worker-gpu'].minReplicaCount).toBe(0);
    // The GPU pool wakes only on a backlog the CPU workers are not clearing.
    expect(Number(byTarget['maskq-worker-gpu'].triggers[0].metadata.activationListLength)).toBeGreaterThan(0);
  });

  it('lets only the API, the workers and KEDA reach Redis', () => {
    const policy = findResource(resources, 'NetworkPolicy', 'redis-clients-only');
    expect(selects(policy.spec.podSelector.matchLabels, redis.spec.template.metadata.labels)).toBe(true);
    expect(policy.spec.policyTypes).toEqual(['Ingress']);
    const [rule] = policy.spec.ingress;
    expect(rule.ports).toEqual([{ port: redisService.spec.ports[0].port, protocol: 'TCP' }]);
    const inNamespace = rule.from.filter((f: Anything) => f.podSelector && !f.namespaceSelector);
    const podTemplates = resources
      .filter((r) => ['Deployment', 'StatefulSet'].includes(r.kind))
      .map((r) => [r.metadata.name, (r as Anything).spec.template.metadata.labels] as const);
    const allowed = podTemplates.filter(([, labels]) => inNamespace.some((f: Anything) => selects(f.podSelector.matchLabels, labels)));
    expect(allowed.map(([name]) => name).sort()).toEqual(['maskq-api', 'maskq-worker-cpu', 'maskq-worker-gpu']);
    const keda = rule.from.find((f: Anything) => f.namespaceSelector);
    expect(keda).toEqual({
      namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'keda' } },
      podSelector: { matchLabels: { app: 'keda-operator' } },
    });
  });
});

describe('k8s redis-cluster overlay (docs/redis.md)', () => {
  const resources = buildKustomization(repoPath('k8s', 'overlays', 'redis-cluster'));
  const configMap = configMapOrSecret(resources, 'ConfigMap', 'maskq-config');
  const secret = configMapOrSecret(resources, 'Secret', 'maskq-secrets');

  it('configures cluster mode only: valid config, real keys, no REDIS_URL beside REDIS_CLUSTER_NODES', () => {
    for (const key of [...Object.keys(configMap), ...Object.keys(secret)]) expect(configKeys, key).toContain(key);
    expect(secret.REDIS_URL).toBeUndefined();
    for (const { env } of appContainers(resources)) {
      const config = loadConfig(env);
      expect(redisMode(config)).toBe('cluster');
      expect(config.REDIS_WAIT_REPLICAS).toBeGreaterThan(0);
    }
    expect((findResource(resources, 'StatefulSet', 'redis') as Anything).spec.replicas).toBe(0);
  });

  it("points KEDA's redis-cluster scaler at the same nodes and wait list", () => {
    const config = loadConfig({ ...configMap, ...secret });
    const waitList = createKeys(config.QUEUE_PREFIX).detectWaitList();
    const scaled = resources.filter((r) => r.kind === 'ScaledObject') as Anything[];
    expect(scaled).toHaveLength(2);
    for (const s of scaled) {
      const [trigger] = s.spec.triggers;
      expect(trigger.type).toBe('redis-cluster');
      expect(trigger.metadata.listName).toBe(waitList);
      expect(trigger.metadata.addresses).toBe(configMap.REDIS_CLUSTER_NODES);
      expect(Number(trigger.metadata.listLength)).toBeGreaterThan(0);
      const auth = findResource(resources, 'TriggerAuthentication', trigger.authenticationRef.name);
      for (const ref of auth.spec.secretTargetRef) {
        expect(configMapOrSecret(resources, 'Secret', ref.name)[ref.key], `${ref.name}/${ref.key}`).toBeDefined();
      }
    }
  });
});
