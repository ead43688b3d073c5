import { join } from "node:path";
import { EdgeStatus, SYNC_SECRET_HEADER } from "../../lua/src/set_backend/contract";
import { httpRequest } from "../../scripts/lib/http";
import { waitUntil } from "../../scripts/lib/process";
import { edgeEnv, RunningNginx, setBackendConf, startNginx } from "./nginx";

export const ADMIN_HOST = "l.io";
export const SYNC_SECRET = "bench-sync-secret-0123456789abcdef";
export const ADMIN_TOKEN = "bench-admin-token-0123456789abcdef";

export interface BenchEdge extends RunningNginx {
  syncPort: number;
  /** Milliseconds from spawning nginx to /status saying loaded. */
  loadMs: number;
}

export interface BenchEdgeOptions {
  name: string;
  directory: string;
  port: number;
  syncPort: number;
  controlPlaneAddress: string;
  routesDictSize: string;
  cpu: number;
  /** Longest wait for the table to load. */
  loadTimeoutMs: number;
  /** Measurement servers added to the edge's http block (lib/nginx.ts, bareDictReadServer). */
  extraServers?: string;
}

export async function edgeStatus(syncPort: number): Promise<EdgeStatus> {
  const response = await httpRequest(`http://127.0.0.1:${syncPort}/status`, { headers: { [SYNC_SECRET_HEADER]: SYNC_SECRET }, timeoutMs: 5000 });
  if (response.status !== 200) {
    throw new Error(`/status answered ${response.status}`);
  }
  return JSON.parse(response.body) as EdgeStatus;
}

/** The routes dict's gauges from the sync listener's /metrics. */
export async function routesDictBytes(syncPort: number): Promise<{ capacity: number; free: number }> {
  const response = await httpRequest(`http://127.0.0.1:${syncPort}/metrics`, { headers: { [SYNC_SECRET_HEADER]: SYNC_SECRET }, timeoutMs: 5000 });
  const gauge = (name: string): number => {
    const match = new RegExp(`^${name} (\\d+)$`, "m").exec(response.body);
    if (!match) {
      throw new Error(`/metrics has no ${name}`);
    }
    return Number(match[1]);
  };
  return { capacity: gauge("set_backend_routes_dict_capacity_bytes"), free: gauge("set_backend_routes_dict_free_bytes") };
}

/**
 * A set-backend edge with one worker pinned to cpu, pulling its table from
 * controlPlaneAddress (the real control plane or a SnapshotServer). Resolves
 * once the table is loaded.
 */
export async function startBenchEdge(options: BenchEdgeOptions): Promise<BenchEdge> {
  const prefix = join(options.directory, options.name);
  const conf = setBackendConf({
    prefix,
    listen: `127.0.0.1:${options.port}`,
    syncListen: `127.0.0.1:${options.syncPort}`,
    controlPlaneAddress: options.controlPlaneAddress,
    adminHost: ADMIN_HOST,
    routesDictSize: options.routesDictSize,
    workerProcesses: 1,
    errorLogLevel: "warn",
  }, options.extraServers);
  const started = Date.now();
  const nginx = await startNginx(options.name, prefix, conf, options.port, options.cpu, edgeEnv(prefix, options.controlPlaneAddress, SYNC_SECRET));
  try {
    await waitUntil(async () => (await edgeStatus(options.syncPort)).loaded, options.loadTimeoutMs, `${options.name} to load its table`, 25);
  } catch (error) {
    await nginx.process.stop("SIGKILL");
    throw error;
  }
  return { ...nginx, syncPort: options.syncPort, loadMs: Date.now() - started };
}
