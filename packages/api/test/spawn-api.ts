import { spawn, type ChildProcess } from 'node:child_process';
import { repoRoot } from '../../../test-support/paths.js';

export interface SpawnedApi {
  url: string;
  child: ChildProcess;
  output(): string;
  /** SIGTERM, then SIGKILL if it has not exited within 5 s. */
  stop(): Promise<void>;
}

/** The API's real entry point (packages/api/src/main.ts) as a child process on a free port. */
export async function spawnApi(env: Record<string, string>): Promise<SpawnedApi> {
  // The topology comes from `env` only: never inherit a REDIS_* setting from the test's environment.
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('REDIS_')));
  const child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', 'packages/api/src/main.ts'], {
    cwd: repoRoot,
    env: { ...inherited, LOG_LEVEL: 'info', PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let text = '';
  child.stdout!.on('data', (d: Buffer) => (text = (text + d.toString()).slice(-200_000)));
  child.stderr!.on('data', (d: Buffer) => (text = (text + d.toString()).slice(-200_000)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  };
  const started = Date.now();
  let url: string | undefined;
  while (!url) {
    if (child.exitCode !== null || Date.now() - started > 30_000) {
      await stop();
      throw new Error(`API did not start:\n${text}`);
    }
    url = /"url":"(http:\/\/[^"]+)"/.exec(text)?.[1];
    await new Promise((r) => setTimeout(r, 50));
  }
  return { url, child, output: () => text, stop };
}
