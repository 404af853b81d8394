import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { processGroupCpuMs } from '../lib/process-cpu.js';

// A real child in its own group: burns 300 ms of CPU (by its own account), then idles until killed.
const burner = `
const start = process.cpuUsage();
const used = () => { const u = process.cpuUsage(start); return (u.user + u.system) / 1000; };
while (used() < 300);
setInterval(() => {}, 1000);
`;

describe('processGroupCpuMs', () => {
  it.runIf(process.platform === 'linux')('adds up the CPU a process group burns, and nothing of other groups', async () => {
    const child = spawn(process.execPath, ['-e', burner], { detached: true, stdio: 'ignore' });
    const pid = child.pid as number;
    try {
      let used = 0;
      for (let i = 0; i < 200 && used < 300; i++) {
        await new Promise((r) => setTimeout(r, 50));
        used = processGroupCpuMs([pid]);
      }
      expect(used).toBeGreaterThanOrEqual(300);
      // idle now: it stops growing (startup + 300 ms burn, well under 2 s)
      expect(used).toBeLessThan(2000);
      expect(processGroupCpuMs([2 ** 30])).toBe(0);
    } finally {
      child.kill('SIGKILL');
    }
  });
});
