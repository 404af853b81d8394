import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { relative } from 'node:path';
import { configSchema, loadConfig } from '@maskq/shared';
import { describe, expect, it } from 'vitest';
import { modelDir } from '../../test-support/paths.js';
import { configKeys, configMapOrSecret, type Anything } from './support/deployment.js';
import { copySources, execForm, parseDockerfile, stageEnv, type Dockerfile } from './support/dockerfile.js';
import { buildKustomization, parseImage } from './support/kustomize.js';
import { repoPath, repoRoot } from './support/paths.js';

const images = [
  { file: 'api.Dockerfile', pkg: 'api', image: 'maskq/api', port: 'PORT' },
  { file: 'worker.Dockerfile', pkg: 'worker', image: 'maskq/worker', port: 'WORKER_METRICS_PORT' },
  { file: 'worker-gpu.Dockerfile', pkg: 'worker', image: 'maskq/worker-gpu', port: 'WORKER_METRICS_PORT' },
] as const;

/** Variables images may set that are not maskq config. */
const nonConfigEnv = new Set(['NODE_ENV', 'CI', 'NVIDIA_VISIBLE_DEVICES', 'NVIDIA_DRIVER_CAPABILITIES']);

/** `.dockerignore` as docker applies it: a pattern excludes a path and everything under it. */
function dockerIgnored(path: string): boolean {
  const patterns = readFileSync(repoPath('.dockerignore'), 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
  let ignored = false;
  for (const raw of patterns) {
    const negate = raw.startsWith('!');
    const pattern = (negate ? raw.slice(1) : raw).replace(/^\/+|\/+$/g, '');
    const regex = new RegExp(
      `^${pattern
        .split('/')
        .map((part) => (part === '**' ? '.*' : part.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]')))
        .join('/')
        .replace(/\.\*\//g, '(?:.*/)?')}(?:/.*)?$`,
    );
    if (regex.test(path)) ignored = !negate;
  }
  return ignored;
}

const k8s = buildKustomization(repoPath('k8s', 'base'));
const deploymentOf = (image: string): Anything => {
  const found = (k8s as Anything[]).find((r) => r.kind === 'Deployment' && parseImage(r.spec.template.spec.containers[0].image).name === image);
  if (!found) throw new Error(`no Deployment runs ${image}`);
  return found;
};
const rootPackage = JSON.parse(readFileSync(repoPath('package.json'), 'utf8')) as Anything;

describe.each(images)('docker/$file', ({ file, pkg, image, port }) => {
  const text = readFileSync(repoPath('docker', file), 'utf8');
  const dockerfile: Dockerfile = parseDockerfile(text);
  const final = dockerfile.stages[dockerfile.stages.length - 1]!;
  const finalOf = (keyword: string) => final.instructions.filter((i) => i.keyword === keyword);

  it('is multi-stage: builds in one stage, runs from a clean one', () => {
    expect(dockerfile.stages.length).toBeGreaterThanOrEqual(2);
    const build = dockerfile.stages.find((s) => s.name === 'build');
    expect(build).toBeDefined();
    const runs = build!.instructions.filter((i) => i.keyword === 'RUN').map((i) => i.args).join('\n');
    expect(runs).toContain(`npm i -g pnpm@${String(rootPackage.packageManager).replace('pnpm@', '')}`);
    expect(runs).toContain('pnpm install --frozen-lockfile');
    expect(runs).toContain(`pnpm --filter @maskq/${pkg}... run build`);
    expect(runs).toContain(`pnpm --filter @maskq/${pkg} deploy --prod /out/packages/${pkg}`);
    // The final stage copies only the deployed output.
    const copies = finalOf('COPY').map(copySources);
    expect(copies.some((c) => c.flags.includes('--from=build') && c.sources.join() === '/out' && c.dest === '/app')).toBe(true);
    expect(finalOf('RUN').map((i) => i.args).join('\n')).not.toMatch(/pnpm|npm i/);
  });

  it('runs as the non-root user the k8s pods run as', () => {
    const users = finalOf('USER');
    expect(users).toHaveLength(1);
    const [uid, gid] = users[0]!.args.split(':');
    expect(uid).toMatch(/^\d+$/);
    expect(Number(uid)).toBeGreaterThan(0);
    const deployment = deploymentOf(image);
    expect(deployment.spec.template.spec.securityContext.runAsUser).toBe(Number(uid));
    expect(deployment.spec.template.spec.securityContext.runAsGroup).toBe(Number(gid));
  });

  it('health-checks /health on the port the process listens on, with node (no curl)', () => {
    const checks = finalOf('HEALTHCHECK');
    expect(checks).toHaveLength(1);
    const [bin, flag, script] = execForm(checks[0]!.args);
    expect([bin, flag]).toEqual(['node', '-e']);
    const defaultPort = configSchema.shape[port].parse(undefined);
    expect(script).toContain(`process.env.${port}||${defaultPort}`);
    expect(script).toContain("'/health'");
    expect(stageEnv(final)[port] ?? String(defaultPort)).toBe(String(defaultPort));
  });

  it('starts the compiled entry point of its package', () => {
    expect(execForm(finalOf('CMD')[0]!.args)).toEqual(['node', `packages/${pkg}/dist/main.js`]);
    expect(finalOf('WORKDIR').map((i) => i.args)).toEqual(['/app']);
    const tsconfig = JSON.parse(readFileSync(repoPath('packages', pkg, 'tsconfig.build.json'), 'utf8')) as Anything;
    expect(tsconfig.compilerOptions).toMatchObject({ outDir: 'dist', rootDir: 'src' });
    const manifest = JSON.parse(readFileSync(repoPath('packages', pkg, 'package.json'), 'utf8')) as Anything;
    expect(manifest.scripts.build).toBe('tsc -p tsconfig.build.json');
  });

  it('COPYs only paths that exist and that .dockerignore lets through', () => {
    const stageNames = new Set<string>();
    for (const stage of dockerfile.stages) {
      for (const ins of stage.instructions.filter((i) => i.keyword === 'COPY' || i.keyword === 'ADD')) {
        const { flags, sources } = copySources(ins);
        const from = flags.find((f) => f.startsWith('--from='))?.slice('--from='.length);
        if (from) {
          expect(stageNames, `line ${ins.line}: --from=${from}`).toContain(from);
          continue;
        }
        for (const source of sources) {
          const path = source.replace(/\/$/, '');
          expect(existsSync(repoPath(path)), `line ${ins.line}: ${source}`).toBe(true);
          expect(dockerIgnored(path), `line ${ins.line}: ${source} is excluded by .dockerignore`).toBe(false);
        }
      }
      if (stage.name) stageNames.add(stage.name);
    }
  });

  it('sets only config keys (plus runtime variables) in its environment, with valid values', () => {
    const env = stageEnv(final);
    for (const key of Object.keys(env)) {
      if (!nonConfigEnv.has(key)) expect(configKeys, key).toContain(key);
    }
    const config = loadConfig(Object.fromEntries(Object.entries(env).filter(([k]) => configKeys.includes(k))));
    if (pkg === 'api') {
      expect(config.HOST).toBe('0.0.0.0');
    } else {
      expect(config.EXECUTION_PROVIDER).toBe(image.endsWith('-gpu') ? 'cuda' : 'cpu');
      // The model is baked in where MODEL_DIR points, mirroring the repository's layout.
      expect(config.MODEL_DIR).toBe(`/app/${relative(repoRoot, modelDir)}`);
      expect(config.MODEL_DIR).toBe(configMapOrSecret(k8s, 'ConfigMap', 'maskq-config').MODEL_DIR);
      expect(text).toMatch(/cp -r models\/face-mask \/out\/models\/face-mask/);
    }
  });

  it('carries the image labels k8s selects on', () => {
    const labels = Object.fromEntries(
      [...finalOf('LABEL').map((i) => i.args).join(' ').matchAll(/([\w./-]+)="([^"]*)"/g)].map((m) => [m[1]!, m[2]!]),
    );
    const deployment = deploymentOf(image);
    const podLabels = deployment.spec.template.metadata.labels as Record<string, string>;
    for (const key of ['app.kubernetes.io/name', 'app.kubernetes.io/component', 'maskq.io/accelerator']) {
      expect(labels[key], key).toBe(podLabels[key]);
    }
    expect(text).toContain(`-t ${image} .`);
  });
});

describe('Node versions', () => {
  it('use a Node image that satisfies package.json engines', () => {
    const min = /^>=(\d+)\.(\d+)/.exec(rootPackage.engines.node as string)!;
    for (const { file } of images) {
      const { globalArgs } = parseDockerfile(readFileSync(repoPath('docker', file), 'utf8'));
      const tag = /^node:(\d+)\.(\d+)/.exec(globalArgs.NODE_IMAGE ?? '');
      expect(tag, file).not.toBeNull();
      expect(Number(tag![1])).toBe(Number(min[1]));
      expect(Number(tag![2])).toBeGreaterThanOrEqual(Number(min[2]));
    }
  });
});

describe('GPU image', () => {
  const text = readFileSync(repoPath('docker', 'worker-gpu.Dockerfile'), 'utf8');
  const dockerfile = parseDockerfile(text);
  const final = dockerfile.stages[dockerfile.stages.length - 1]!;

  it('runs on the CUDA 12 + cuDNN runtime with Node copied in', () => {
    expect(final.image).toMatch(/^nvidia\/cuda:12\.\d+\.\d+-cudnn-runtime-ubuntu\d+\.\d+$/);
    const copies = final.instructions.filter((i) => i.keyword === 'COPY').map(copySources);
    expect(copies).toContainEqual({ flags: ['--from=node'], sources: ['/usr/local/bin/node'], dest: '/usr/local/bin/node' });
  });

  it("runs onnxruntime-node's install script for a CUDA build that script knows, and checks its files", () => {
    // Read the real install metadata of the onnxruntime-node the worker depends on.
    const require = createRequire(repoPath('packages', 'worker', 'package.json'));
    const metadata = require('onnxruntime-node/script/install-metadata.js') as Anything;
    const install = /ONNXRUNTIME_NODE_INSTALL=(\S+) node script\/install\.js/.exec(text);
    expect(install).not.toBeNull();
    const flavour = install![1]!;
    expect(metadata.requirements['linux/x64']).toContain(flavour);
    const files = Object.keys(metadata.manifests[`linux/x64:${flavour}`] as object).map((f) => f.replace(/^\.\//, ''));
    expect(files).toContain('libonnxruntime_providers_cuda.so');
    for (const f of ['libonnxruntime_providers_cuda.so', 'libonnxruntime_providers_shared.so']) {
      expect(text).toContain(`test -f bin/napi-v6/linux/x64/${f}`);
    }
  });
});
