import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { availableParallelism } from "node:os";

/** Linux reports process times in clock ticks; USER_HZ is 100 on every mainstream kernel config (getconf CLK_TCK). */
const CLOCK_TICKS_PER_SECOND = 100;

/** Fields of /proc/<pid>/stat after the parenthesised command name. */
function statFields(pid: number): string[] {
  const text = readFileSync(`/proc/${pid}/stat`, "utf8");
  return text.slice(text.lastIndexOf(")") + 2).split(" ");
}

/** User + system CPU seconds a process has used so far. */
export function cpuSeconds(pid: number): number {
  const fields = statFields(pid);
  // utime and stime are fields 14 and 15 of stat, i.e. 11 and 12 after the name.
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND;
}

/** Pids whose parent is pid (nginx workers of a master). */
export function childPids(pid: number): number[] {
  const children: number[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) {
      continue;
    }
    try {
      if (Number(statFields(Number(name))[1]) === pid) {
        children.push(Number(name));
      }
    } catch {
      // The process ended while we looked.
    }
  }
  return children;
}

/**
 * User + system CPU seconds of pid and every process below it, the ended
 * ones included: a child's time moves into its parent's cutime and cstime
 * when the parent reaps it (Postgres's backends and autovacuum workers come
 * and go), so the sum does not drop when a child ends.
 */
export function treeCpuSeconds(pid: number): number {
  let total = 0;
  const pending = [pid];
  while (pending.length > 0) {
    const next = pending.pop() as number;
    try {
      const fields = statFields(next);
      // utime, stime, cutime, cstime: fields 14 to 17 of stat.
      total += (Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14])) / CLOCK_TICKS_PER_SECOND;
    } catch {
      // The process ended while we looked.
      continue;
    }
    pending.push(...childPids(next));
  }
  return total;
}

function firstLine(command: string, args: string[]): string {
  try {
    return execFileSync(command, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }).split("\n")[0]?.trim() ?? "";
  } catch {
    return "unknown";
  }
}

export interface MachineInfo {
  nproc: number;
  cpuModel: string;
  memoryGiB: number;
  kernel: string;
  node: string;
  nginx: string;
  wrk: string;
  loadAverage: string;
  /** The commit measured, and whether the working tree differed from it. */
  commit: string;
}

export function machineInfo(): MachineInfo {
  const cpuinfo = readFileSync("/proc/cpuinfo", "utf8");
  const meminfo = readFileSync("/proc/meminfo", "utf8");
  const memKb = Number(/MemTotal:\s+(\d+)/.exec(meminfo)?.[1] ?? 0);
  return {
    nproc: availableParallelism(),
    cpuModel: /model name\s*:\s*(.+)/.exec(cpuinfo)?.[1]?.trim() ?? "unknown",
    memoryGiB: Math.round((memKb / 1024 / 1024) * 10) / 10,
    kernel: firstLine("uname", ["-r"]),
    node: process.version,
    nginx: firstLine("sh", ["-c", "nginx -v 2>&1"]),
    wrk: firstLine("sh", ["-c", "wrk -v 2>&1 | head -1"]),
    loadAverage: loadAverage(),
    commit: `${firstLine("git", ["rev-parse", "--short", "HEAD"])}${firstLine("sh", ["-c", "git status --porcelain --untracked-files=no -- . ':!bench/results' | head -1"]) === "" ? "" : " (with uncommitted changes)"}`,
  };
}

/** The 1, 5 and 15 minute load averages: shows whether something else ran on the machine meanwhile. */
export function loadAverage(): string {
  return readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");
}

/** Pins this process (all its threads) to cpu; children spawned afterwards inherit it. */
export function pinSelf(cpu: number): void {
  execFileSync("taskset", ["-a", "-p", "-c", String(cpu), String(process.pid)], { stdio: "ignore" });
}

/** Busy and total jiffies of one CPU so far, from /proc/stat (idle and iowait count as not busy). */
export function cpuJiffies(cpu: number): { busy: number; total: number } {
  const line = readFileSync("/proc/stat", "utf8")
    .split("\n")
    .find((item) => item.startsWith(`cpu${cpu} `));
  if (line === undefined) {
    throw new Error(`/proc/stat has no cpu${cpu}`);
  }
  const values = line.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal guest guest_nice; guest time is already inside user.
  const total = values.slice(0, 8).reduce((sum, value) => sum + value, 0);
  const idle = (values[3] ?? 0) + (values[4] ?? 0);
  return { busy: total - idle, total };
}
