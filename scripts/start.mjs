#!/usr/bin/env node
// `pnpm start`: the whole system on one machine — the API, one worker, and a
// local redis-server when nothing answers at REDIS_URL. Ctrl-C stops it all.
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import net from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const env = { ...process.env };
env.REDIS_URL ??= 'redis://127.0.0.1:6379';
env.PORT ??= '8000';
env.WORKER_METRICS_PORT ??= '9464';
const redisUrl = new URL(env.REDIS_URL);
const children = [];
let stopping = false;

function say(line) {
  process.stdout.write(`[maskq] ${line}\n`);
}

function ping(host, port, timeoutMs = 500) {
  return new Promise((done) => {
    const socket = net.connect({ host, port });
    const finish = (ok) => {
      socket.destroy();
      done(ok);
    };
    socket.setTimeout(timeoutMs, () => finish(false));
    socket.once('error', () => finish(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    // -NOAUTH also proves a Redis is there.
    socket.once('data', (data) => finish(/^(\+PONG|-NOAUTH)/.test(data.toString())));
  });
}

function run(name, command, args, extraEnv = {}) {
  const child = spawn(command, args, { cwd: root, env: { ...env, ...extraEnv }, stdio: ['ignore', 'pipe', 'pipe'] });
  const prefix = (stream, out) => {
    let rest = '';
    stream.on('data', (chunk) => {
      const lines = (rest + chunk.toString()).split('\n');
      rest = lines.pop() ?? '';
      for (const line of lines) out.write(`[${name}] ${line}\n`);
    });
  };
  prefix(child.stdout, process.stdout);
  prefix(child.stderr, process.stderr);
  child.on('exit', (code, signal) => {
    if (!stopping) {
      say(`${name} exited (${signal ?? code}); stopping everything`);
      void stop(1);
    }
  });
  children.push({ name, child });
  return child;
}

async function ensureRedis() {
  const host = redisUrl.hostname || '127.0.0.1';
  const port = Number(redisUrl.port || 6379);
  if (await ping(host, port)) {
    say(`using Redis at ${host}:${port}`);
    return;
  }
  const local = ['127.0.0.1', 'localhost', '::1'].includes(host);
  const found = spawnSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' }).stdout.trim();
  if (!local || !found) {
    say(`nothing answers at ${host}:${port}.`);
    say(local ? 'Install Redis (Debian/Ubuntu: `sudo apt-get install redis-server`, macOS: `brew install redis`) and run `pnpm start` again, or set REDIS_URL.' : 'Start that Redis or point REDIS_URL at one.');
    process.exit(1);
  }
  const dir = join(root, '.maskq', 'redis');
  mkdirSync(dir, { recursive: true });
  say(`starting redis-server on ${host}:${port} (AOF in .maskq/redis)`);
  run('redis', found, ['--bind', '127.0.0.1', '--port', String(port), '--dir', dir, '--appendonly', 'yes', '--save', '']);
  for (let i = 0; i < 100; i++) {
    if (await ping(host, port)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  say('redis-server did not start');
  await stop(1);
}

async function waitReady(url, timeoutMs) {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    try {
      const res = await fetch(url);
      if (res.ok) return true;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return false;
}

async function stop(code = 0) {
  if (stopping) return;
  stopping = true;
  // Workers first so the batch in hand finishes while Redis is still there.
  const order = ['worker', 'api', 'redis'];
  for (const name of order) {
    for (const { name: n, child } of children) {
      if (n !== name || child.exitCode !== null || child.signalCode !== null) continue;
      child.kill('SIGTERM');
      await new Promise((r) => {
        const timer = setTimeout(() => {
          child.kill('SIGKILL');
          r();
        }, 35_000);
        child.once('exit', () => {
          clearTimeout(timer);
          r();
        });
      });
    }
  }
  process.exit(code);
}

process.on('SIGINT', () => void stop(0));
process.on('SIGTERM', () => void stop(0));

const tsx = ['--conditions=source', '--import', 'tsx'];
await ensureRedis();
// The web page at `/` is served from packages/web/dist: build it (Vite, ~1 s).
say('building the web page (packages/web)');
const webBuild = spawnSync('pnpm', ['--filter', '@maskq/web', 'build'], { cwd: root, encoding: 'utf8' });
if (webBuild.status !== 0) say(`web page build failed, serving the API without it:\n${webBuild.stderr || webBuild.stdout}`);
run('api', process.execPath, [...tsx, 'packages/api/src/main.ts']);
run('worker', process.execPath, [...tsx, 'packages/worker/src/main.ts']);
const host = env.HOST && env.HOST !== '0.0.0.0' ? env.HOST : '127.0.0.1';
const base = `http://${host}:${env.PORT}`;
if (await waitReady(`${base}/ready`, 60_000)) {
  say('ready');
  say(`  API            ${base}   (try: curl -F image=@../shared/fixtures/images/aizoo_demo2.jpg ${base}/v1/detect)`);
  say(`  web page       ${base}/`);
  say(`  API docs       ${base}/docs`);
  say(`  metrics        ${base}/metrics   worker: http://127.0.0.1:${env.WORKER_METRICS_PORT}/metrics`);
  say(`  dashboard      ${base}/admin/queues   (needs ADMIN_USER and ADMIN_PASSWORD)`);
  say('Ctrl-C stops everything.');
} else {
  say(`the API did not become ready at ${base}/ready within 60 s`);
}
