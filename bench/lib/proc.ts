import { readFileSync } from 'node:fs';

const ticksPerSecond = 100; // Linux USER_HZ; /proc reports CPU time in these ticks.

/** User + system CPU seconds a process has used so far, from /proc/<pid>/stat. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name may contain spaces; fields resume after its closing parenthesis.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return (utime + stime) / ticksPerSecond;
}

/** The process and its direct children (nginx master + workers). */
export function processTree(pid: number): number[] {
  try {
    const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8')
      .trim()
      .split(/\s+/)
      .filter(Boolean)
      .map(Number);
    return [pid, ...children];
  } catch {
    return [pid];
  }
}

export function treeCpuSeconds(pid: number): number {
  return processTree(pid).reduce((sum, each) => {
    try {
      return sum + cpuSeconds(each);
    } catch {
      return sum;
    }
  }, 0);
}
