import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

/** A port the OS just handed out (and released), for a child server to listen on. */
export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolvePort(port));
    });
  });
}

export interface StartProcessOptions {
  name: string;
  command: string;
  args: string[];
  cwd?: string;
  env?: NodeJS.ProcessEnv;
}

/**
 * A child process in its own process group (uvicorn forks workers; tsx spawns node), so stop()
 * ends it and everything it started, and nothing else. Keeps the last output for error reports.
 */
export class ManagedProcess {
  readonly name: string;
  private readonly child: ChildProcess;
  private output = '';
  private exitInfo: string | undefined;
  readonly exited: Promise<void>;

  constructor(options: StartProcessOptions) {
    this.name = options.name;
    this.child = spawn(options.command, options.args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const keep = (chunk: Buffer): void => {
      this.output = (this.output + chunk.toString('utf8')).slice(-8000);
    };
    this.child.stdout?.on('data', keep);
    this.child.stderr?.on('data', keep);
    this.exited = new Promise((resolveExit) => {
      this.child.on('exit', (code, signal) => {
        this.exitInfo = signal ? `signal ${signal}` : `code ${code}`;
        resolveExit();
      });
      this.child.on('error', (err) => {
        this.exitInfo = err.message;
        resolveExit();
      });
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** undefined while running, else how it ended */
  get exit(): string | undefined {
    return this.exitInfo;
  }

  get recentOutput(): string {
    return this.output;
  }

  /** SIGTERM to the group, SIGKILL after `graceMs`. */
  async stop(graceMs = 5000): Promise<void> {
    if (this.exitInfo !== undefined || this.child.pid === undefined) return;
    const group = -this.child.pid;
    try {
      process.kill(group, 'SIGTERM');
    } catch {
      return;
    }
    const timedOut = await Promise.race([this.exited.then(() => false), sleep(graceMs).then(() => true)]);
    if (timedOut) {
      try {
        process.kill(group, 'SIGKILL');
      } catch {
        /* already gone */
      }
      await this.exited;
    }
  }
}

/** Polls `probe` until it resolves true; fails early if one of `watch` exits, or after `timeoutMs`. */
export async function waitUntilReady(
  what: string,
  probe: () => Promise<boolean>,
  watch: readonly ManagedProcess[],
  timeoutMs = 60_000,
): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  let lastError = '';
  while (performance.now() < deadline) {
    const dead = watch.find((p) => p.exit !== undefined);
    if (dead) throw new Error(`${dead.name} exited (${dead.exit}) before ${what} was ready:\n${dead.recentOutput}`);
    try {
      if (await probe()) return;
    } catch (err) {
      lastError = err instanceof Error ? err.message : String(err);
    }
    await sleep(250);
  }
  const logs = watch.map((p) => `--- ${p.name}:\n${p.recentOutput}`).join('\n');
  throw new Error(`${what} not ready after ${timeoutMs} ms (${lastError}):\n${logs}`);
}
