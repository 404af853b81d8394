import { existsSync, readFileSync } from 'node:fs';
import { join, posix, relative } from 'node:path';
import { loadConfig } from '@maskq/shared';
import { describe, expect, it } from 'vitest';
import { interpolate, parseDotEnv, variablesIn } from './support/compose.js';
import { configKeys, configMapOrSecret, keysWithoutDefault, type Anything } from './support/deployment.js';
import { readDockerfile, stageEnv } from './support/dockerfile.js';
import { buildKustomization, imagesOf, parseImage } from './support/kustomize.js';
import { repoPath, repoRoot } from './support/paths.js';
import { isObject, parseYamlDocs, readYaml, type Json } from './support/yaml.js';

const composeText = readFileSync(repoPath('docker-compose.yml'), 'utf8');
const dotEnvExample = parseDotEnv(readFileSync(repoPath('.env.example'), 'utf8'));

/** The compose file as `docker compose config` would read it with this environment. */
function composeWith(env: Record<string, string>): Anything {
  const [doc] = parseYamlDocs(composeText, 'docker-compose.yml');
  const walk = (node: Json): Json =>
    typeof node === 'string'
      ? interpolate(node, env)
      : Array.isArray(node)
        ? node.map(walk)
        : isObject(node)
          ? Object.fromEntries(Object.entries(node).map(([k, v]) => [k, walk(v)]))
          : node;
  return walk(doc!) as Anything;
}

const maskqServices = ['api', 'worker', 'worker-gpu'] as const;
const environments: [string, Record<string, string>][] = [
  ['defaults (no .env)', {}],
  ['.env.example', dotEnvExample],
];

/** Environment a service's process sees: its image's ENV, overridden by compose `environment`. */
function processEnv(compose: Anything, service: string): Record<string, string> {
  const svc = compose.services[service];
  const stages = readDockerfile(repoPath(svc.build.context, svc.build.dockerfile)).stages;
  const env = svc.environment as Record<string, Json>;
  return { ...stageEnv(stages[stages.length - 1]!), ...Object.fromEntries(Object.entries(env).map(([k, v]) => [k, String(v)])) };
}

describe.each(environments)('docker-compose.yml with %s', (_name, env) => {
  const compose = composeWith(env);

  it('only sets real config keys on maskq services, and every key without a default', () => {
    for (const name of maskqServices) {
      const keys = Object.keys(compose.services[name].environment);
      for (const key of keys) expect(configKeys, `${name}: ${key}`).toContain(key);
      for (const key of keysWithoutDefault) expect(keys, `${name}: ${key}`).toContain(key);
    }
  });

  it('gives each maskq service a valid config, listening where its healthcheck and Prometheus look', () => {
    const prometheus = readYaml(repoPath('deploy', 'prometheus', 'prometheus.yml')) as Anything;
    const job = (name: string) => prometheus.scrape_configs.find((j: Anything) => j.job_name === name);

    const api = loadConfig(processEnv(compose, 'api'));
    expect(api.HOST).toBe('0.0.0.0');
    expect(compose.services.api.ports).toEqual([expect.stringMatching(new RegExp(`^127\\.0\\.0\\.1:\\d+:${api.PORT}$`))]);
    expect(job('maskq-api').static_configs[0].targets).toEqual([`api:${api.PORT}`]);

    for (const name of ['worker', 'worker-gpu']) {
      const worker = loadConfig(processEnv(compose, name));
      expect(worker.EXECUTION_PROVIDER).toBe(name === 'worker-gpu' ? 'cuda' : 'cpu');
      expect(worker.WORKER_METRICS_HOST).toBe('0.0.0.0');
      expect(compose.services[name].expose).toEqual([String(worker.WORKER_METRICS_PORT)]);
      // Scaled workers are found by DNS: the service name resolves to every replica.
      const sd = job(`maskq-${name}`).dns_sd_configs[0];
      expect(sd).toMatchObject({ names: [name], type: 'A', port: worker.WORKER_METRICS_PORT });
      // The worker drains on SIGTERM for up to SHUTDOWN_TIMEOUT_MS before compose sends SIGKILL.
      expect(Number(String(compose.services[name].stop_grace_period).replace(/s$/, '')) * 1000).toBeGreaterThanOrEqual(worker.SHUTDOWN_TIMEOUT_MS + 10_000);
    }
  });

  it('points REDIS_URL at the compose Redis service', () => {
    for (const name of maskqServices) {
      const url = new URL(String(compose.services[name].environment.REDIS_URL));
      expect(Object.keys(compose.services)).toContain(url.hostname);
      expect(url.hostname).toBe('redis');
    }
  });
});

describe('docker-compose.yml services', () => {
  const compose = composeWith({});

  it('lets workers scale: no container_name anywhere, no host ports on workers', () => {
    for (const [name, svc] of Object.entries(compose.services as Record<string, Anything>)) {
      expect(svc.container_name, name).toBeUndefined();
    }
    expect(compose.services.worker.ports).toBeUndefined();
    expect(compose.services['worker-gpu'].ports).toBeUndefined();
  });

  it('binds every published port to loopback only', () => {
    for (const [name, svc] of Object.entries(compose.services as Record<string, Anything>)) {
      for (const port of svc.ports ?? []) expect(String(port), name).toMatch(/^127\.0\.0\.1:/);
    }
  });

  it('runs Redis with AOF (fsync every second) on a named volume', () => {
    const redis = compose.services.redis;
    expect(redis.command.join(' ')).toContain('--appendonly yes --appendfsync everysec');
    const [volume, target] = String(redis.volumes[0]).split(':');
    expect(target).toBe('/data');
    expect(Object.keys(compose.volumes)).toContain(volume);
    for (const name of maskqServices) expect(compose.services[name].depends_on.redis.condition).toBe('service_healthy');
  });

  it('puts the GPU worker behind the gpu profile with an NVIDIA device reservation', () => {
    const gpu = compose.services['worker-gpu'];
    expect(gpu.profiles).toEqual(['gpu']);
    expect(gpu.deploy.resources.reservations.devices).toEqual([expect.objectContaining({ driver: 'nvidia', capabilities: ['gpu'] })]);
    expect(compose.services.worker.profiles).toBeUndefined();
    expect(compose.services.api.profiles).toBeUndefined();
  });

  it('lists every ${VAR} the compose file reads in .env.example, and nothing stale', () => {
    // Compose interpolates values, not comments or keys.
    const used = new Set<string>();
    const walk = (node: Json): void => {
      if (typeof node === 'string') variablesIn(node).forEach((v) => used.add(v));
      else if (Array.isArray(node)) node.forEach(walk);
      else if (isObject(node)) Object.values(node).forEach(walk);
    };
    walk(parseYamlDocs(composeText)[0]!);
    expect([...used].sort()).toEqual(Object.keys(dotEnvExample).sort());
  });

  it('builds each maskq image from its Dockerfile, under the name and labels k8s uses', () => {
    const k8sImages = imagesOf(buildKustomization(repoPath('k8s', 'base'))).map((i) => parseImage(i).name);
    const k8s = buildKustomization(repoPath('k8s', 'base'));
    for (const name of maskqServices) {
      const svc = compose.services[name];
      expect(svc.build.dockerfile).toBe(`docker/${name}.Dockerfile`);
      const image = parseImage(svc.image).name;
      expect(image).toBe(`maskq/${name}`);
      expect(k8sImages).toContain(image);
      const deployment = (k8s as Anything[]).find((r) => r.kind === 'Deployment' && parseImage(r.spec.template.spec.containers[0].image).name === image);
      expect(deployment, image).toBeDefined();
      const podLabels = deployment!.spec.template.metadata.labels;
      for (const [key, value] of Object.entries(svc.labels as Record<string, string>)) expect(podLabels[key], `${name} ${key}`).toBe(value);
    }
    // Same Redis image everywhere.
    const redisK8s = imagesOf(k8s).find((i) => parseImage(i).name === 'redis');
    expect(compose.services.redis.image).toBe(redisK8s);
  });

  it('keeps MODEL_DIR the same in compose, the ConfigMap and the worker images', () => {
    const configMap = configMapOrSecret(buildKustomization(repoPath('k8s', 'base')), 'ConfigMap', 'maskq-config');
    for (const name of ['worker', 'worker-gpu']) {
      expect(processEnv(compose, name).MODEL_DIR).toBe(configMap.MODEL_DIR);
    }
  });
});

describe('Prometheus and Grafana provisioning', () => {
  const compose = composeWith({});
  /** Host path of a container path, through the service's bind mounts. */
  const hostPath = (service: string, containerPath: string): string => {
    for (const volume of compose.services[service].volumes as string[]) {
      const [host, target] = volume.split(':') as [string, string];
      if (!host.startsWith('.')) continue;
      const rel = posix.relative(target, containerPath);
      if (!rel.startsWith('..')) return join(repoRoot, host, rel);
    }
    throw new Error(`${containerPath} is not mounted into ${service}`);
  };

  it('loads alert rules from a mounted, valid rule file', () => {
    const prometheus = readYaml(repoPath('deploy', 'prometheus', 'prometheus.yml')) as Anything;
    expect(hostPath('prometheus', '/etc/prometheus/prometheus.yml')).toBe(repoPath('deploy', 'prometheus', 'prometheus.yml'));
    for (const file of prometheus.rule_files as string[]) {
      const path = hostPath('prometheus', file);
      expect(relative(repoRoot, path)).toBe('deploy/prometheus/alerts.yml');
      const rules = readYaml(path) as Anything;
      expect(rules.groups.length).toBeGreaterThan(0);
      for (const group of rules.groups) {
        for (const rule of group.rules) {
          expect(typeof rule.alert).toBe('string');
          expect(typeof rule.expr).toBe('string');
        }
      }
    }
  });

  it('provisions the Prometheus datasource and the dashboard folder Grafana mounts', () => {
    const provisioning = hostPath('grafana', '/etc/grafana/provisioning');
    const datasources = readYaml(join(provisioning, 'datasources', 'prometheus.yml')) as Anything;
    const url = new URL(datasources.datasources[0].url);
    expect(Object.keys(compose.services)).toContain(url.hostname);
    expect(compose.services[url.hostname].ports[0]).toMatch(new RegExp(`:${url.port}$`));

    const providers = readYaml(join(provisioning, 'dashboards', 'maskq.yml')) as Anything;
    const dashboards = hostPath('grafana', providers.providers[0].options.path);
    const dashboardFile = join(dashboards, 'maskq.json');
    expect(existsSync(dashboardFile)).toBe(true);
    const dashboard = JSON.parse(readFileSync(dashboardFile, 'utf8')) as Anything;
    expect(dashboard).toMatchObject({ uid: expect.any(String), title: expect.any(String), panels: expect.any(Array) });
    // Panels name the provisioned datasource, or a dashboard variable that picks a Prometheus one.
    const variables = (dashboard.templating?.list ?? []) as Anything[];
    const allowed = [datasources.datasources[0].uid as string];
    for (const v of variables) if (v.type === 'datasource' && v.query === 'prometheus') allowed.push(`\${${v.name}}`);
    for (const panel of dashboard.panels) expect(allowed).toContain(panel.datasource?.uid ?? allowed[0]);
  });
});
