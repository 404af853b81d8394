import { readdirSync, readFileSync } from 'node:fs';

/** Clock ticks per second for /proc/<pid>/stat times (USER_HZ; 100 on every mainstream Linux). */
const ticksPerSecond = 100;

/**
 * CPU time (user + system, ms) used so far by every live process in the given process groups,
 * read from /proc. NaN where /proc is not there. A server's CPU per request is much less
 * sensitive to other load on a shared machine than its requests per second.
 */
export function processGroupCpuMs(groups: readonly number[]): number {
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return Number.NaN;
  }
  const wanted = new Set(groups);
  let ticks = 0;
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // exited meanwhile
    }
    // Fields after the command name (which may hold spaces), counted from field 3 (state).
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (!wanted.has(Number(fields[2]))) continue; // field 5: pgrp
    ticks += Number(fields[11]) + Number(fields[12]); // fields 14, 15: utime, stime
  }
  return (ticks * 1000) / ticksPerSecond;
}
