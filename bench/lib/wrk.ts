import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { cpuJiffies, cpuSeconds } from "./machine";

/** What one wrk run reported, plus the CPU the server under test used meanwhile. */
export interface WrkResult {
  requestsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  requests: number;
  non2xx: number;
  socketErrors: number;
  /** CPU seconds the measured nginx worker used during the run, per request, in microseconds. */
  serverCpuUsPerRequest?: number;
  /** Share of one core the measured nginx worker used during the run (0..1). */
  serverBusy?: number;
  /** Share of time each CPU was busy during the run (0..1): the server's and the load generator's. */
  serverCoreBusy?: number;
  loadCoreBusy?: number;
}

export interface WrkOptions {
  url: string;
  /** The Lua script that writes each request (see hostScript). */
  script: string;
  connections: number;
  durationS: number;
  /** CPU wrk is pinned to. */
  cpu: number;
  /** nginx worker to account CPU to (its pid), if any. */
  serverPid?: number;
  /** CPU the server under test is pinned to. */
  serverCpu: number;
}

/**
 * A wrk script that sends GET / with a Host drawn at random from
 * sprintf(pattern, 1..count) on every request, so a large table is read
 * all over rather than one hot key staying in the CPU cache. Fixed seed:
 * every variant sees the same sequence of hosts.
 */
export function hostScript(directory: string, name: string, pattern: string, count: number): string {
  const file = join(directory, `${name}.lua`);
  writeFileSync(
    file,
    [
      "local format, random = string.format, math.random",
      "math.randomseed(20261127)",
      `local pattern, count = ${JSON.stringify(pattern)}, ${Math.max(1, Math.floor(count))}`,
      "request = function()",
      '  return "GET / HTTP/1.1\\r\\nHost: " .. format(pattern, random(1, count)) .. "\\r\\n\\r\\n"',
      "end",
      "",
    ].join("\n"),
  );
  return file;
}

/** "1.23ms" / "850.00us" / "1.02s" -> milliseconds. */
export function parseDuration(text: string): number {
  const match = /^([\d.]+)(us|ms|s|m)$/.exec(text.trim());
  if (!match) {
    throw new Error(`cannot read wrk duration '${text}'`);
  }
  const value = Number(match[1]);
  const unit = match[2];
  return unit === "us" ? value / 1000 : unit === "ms" ? value : unit === "s" ? value * 1000 : value * 60000;
}

export function parseWrk(output: string): Omit<WrkResult, "serverCpuUsPerRequest" | "serverBusy" | "serverCoreBusy" | "loadCoreBusy"> {
  const rps = /Requests\/sec:\s+([\d.]+)/.exec(output);
  const p50 = /^\s+50%\s+(\S+)/m.exec(output);
  const p99 = /^\s+99%\s+(\S+)/m.exec(output);
  const total = /(\d+) requests in/.exec(output);
  if (!rps || !p50 || !p99 || !total) {
    throw new Error(`unexpected wrk output:\n${output}`);
  }
  const non2xx = /Non-2xx or 3xx responses:\s+(\d+)/.exec(output);
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(output);
  const socketErrors = socket ? socket.slice(1).reduce((sum, item) => sum + Number(item), 0) : 0;
  return {
    requestsPerSec: Number(rps[1]),
    p50Ms: parseDuration(p50[1] as string),
    p99Ms: parseDuration(p99[1] as string),
    requests: Number(total[1]),
    non2xx: non2xx ? Number(non2xx[1]) : 0,
    socketErrors,
  };
}

/** Runs wrk once (one thread, pinned); kills it if it overruns its duration by far. */
export async function runWrk(options: WrkOptions): Promise<WrkResult> {
  const args = [
    "-c",
    String(options.cpu),
    "wrk",
    "-t1",
    `-c${options.connections}`,
    `-d${options.durationS}s`,
    "--latency",
    "-s",
    options.script,
    options.url,
  ];
  const cpuBefore = options.serverPid === undefined ? undefined : cpuSeconds(options.serverPid);
  const serverCoreBefore = cpuJiffies(options.serverCpu);
  const loadCoreBefore = cpuJiffies(options.cpu);
  const started = process.hrtime.bigint();
  const output = await new Promise<string>((resolve, reject) => {
    const child = spawn("taskset", args, { stdio: ["ignore", "pipe", "pipe"] });
    let text = "";
    child.stdout.on("data", (chunk: Buffer) => (text += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (text += chunk.toString()));
    const killer = setTimeout(() => child.kill("SIGKILL"), (options.durationS + 30) * 1000);
    child.on("error", (error) => {
      clearTimeout(killer);
      reject(error);
    });
    child.on("exit", (code) => {
      clearTimeout(killer);
      if (code === 0) {
        resolve(text);
      } else {
        reject(new Error(`wrk exited with ${code}: ${text}`));
      }
    });
  });
  const elapsedS = Number(process.hrtime.bigint() - started) / 1e9;
  const result: WrkResult = parseWrk(output);
  const busyShare = (before: { busy: number; total: number }, after: { busy: number; total: number }) =>
    after.total > before.total ? (after.busy - before.busy) / (after.total - before.total) : undefined;
  result.serverCoreBusy = busyShare(serverCoreBefore, cpuJiffies(options.serverCpu));
  result.loadCoreBusy = busyShare(loadCoreBefore, cpuJiffies(options.cpu));
  if (options.serverPid !== undefined && cpuBefore !== undefined) {
    const used = cpuSeconds(options.serverPid) - cpuBefore;
    result.serverBusy = used / elapsedS;
    result.serverCpuUsPerRequest = result.requests > 0 ? (used / result.requests) * 1e6 : undefined;
  }
  return result;
}
