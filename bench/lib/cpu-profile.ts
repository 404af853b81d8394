import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The parts of a V8 .cpuprofile (what `node --cpu-prof` writes) that self time needs. */
export interface CpuProfile {
  nodes: Array<{ id: number; callFrame: { functionName: string; url: string; lineNumber: number }; hitCount?: number }>;
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

export interface SelfTime {
  /** `function (file:line)`, `(program)` / `(garbage collector)` / `(idle)` as V8 names them */
  frame: string;
  ms: number;
  /** share of the profile's sampled time */
  share: number;
}

function frameName(callFrame: CpuProfile['nodes'][number]['callFrame']): string {
  const name = callFrame.functionName || '(anonymous)';
  if (!callFrame.url) return name;
  const file = callFrame.url.replace(/^file:\/\//, '').replace(/^.*\/node_modules\//, '').replace(/^.*\/packages\//, 'packages/');
  return `${name} (${file}:${callFrame.lineNumber + 1})`;
}

/**
 * Self time per function: each sample's time delta goes to the node it hit, summed by
 * function and place (the same function reached by different paths counts once). Most first.
 */
export function selfTimes(profile: CpuProfile): SelfTime[] {
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
  const byFrame = new Map<string, number>();
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  let total = 0;
  samples.forEach((id, i) => {
    const node = nodes.get(id);
    // V8's delta i is the time before sample i; the next delta is a better estimate of how long sample i lasted.
    const us = deltas[i + 1] ?? deltas[i] ?? 0;
    if (!node || us <= 0) return;
    const frame = frameName(node.callFrame);
    byFrame.set(frame, (byFrame.get(frame) ?? 0) + us);
    total += us;
  });
  return [...byFrame.entries()]
    .map(([frame, us]) => ({ frame, ms: us / 1000, share: total ? us / total : 0 }))
    .sort((a, b) => b.ms - a.ms);
}

/** The .cpuprofile files in a folder, parsed. */
export function readProfiles(dir: string): Array<{ file: string; profile: CpuProfile }> {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.cpuprofile'))
    .sort()
    .map((file) => ({ file, profile: JSON.parse(readFileSync(join(dir, file), 'utf8')) as CpuProfile }));
}
