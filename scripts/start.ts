/**
 * `npm start`: the whole system on its embedded defaults. Starts Postgres
 * (embedded unless DATABASE_URL is set), the control plane (which runs
 * pending migrations), and the edge; prints where each listens and how to
 * use them; stops everything on Ctrl-C. Run through scripts/start.mjs, which
 * installs and builds first.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { dataDir, loadOrCreateSecret } from "../control-plane/src/config/data-dir";
import { databaseUrl, embeddedPostgresSettings } from "../control-plane/src/config/database";
import { startEdge } from "./lib/edge";
import { httpRequest } from "./lib/http";
import { repoRoot, startEmbeddedPostgres } from "./lib/postgres";
import { ManagedProcess, waitUntil } from "./lib/process";

function env(name: string, fallback: string): string {
  const value = process.env[name];
  return value === undefined || value === "" ? fallback : value;
}

async function answers(url: string, headers: Record<string, string> = {}): Promise<boolean> {
  const response = await httpRequest(url, { headers, timeoutMs: 2000 });
  return response.status === 200;
}

export async function main(): Promise<void> {
  const data = dataDir();
  const edgeHost = env("EDGE_HOST", "127.0.0.1");
  const edgePort = env("EDGE_PORT", "8080");
  const syncPort = env("EDGE_SYNC_PORT", "8082");
  const controlPlaneHost = env("CONTROL_PLANE_HOST", "127.0.0.1");
  const controlPlanePort = env("CONTROL_PLANE_PORT", "8081");
  // host:port as URLs and nginx write it: an IPv6 address goes in brackets.
  const controlPlaneAddress = `${controlPlaneHost.includes(":") ? `[${controlPlaneHost}]` : controlPlaneHost}:${controlPlanePort}`;
  const adminHost = env("ADMIN_HOST", "l.io");
  const adminToken = env("ADMIN_TOKEN", "") || loadOrCreateSecret(data, "admin-token");
  const syncSecret = env("SYNC_SECRET", "") || loadOrCreateSecret(data, "sync-secret");
  const logs = join(data, "logs");
  mkdirSync(logs, { recursive: true });

  const started: ManagedProcess[] = [];
  let stopping = false;
  const stopAll = async (code: number) => {
    if (stopping) {
      return;
    }
    stopping = true;
    console.log("\nstopping...");
    // Reverse order: edge first (it keeps serving its table until then), Postgres last.
    for (const child of started.reverse()) {
      await child.stop(child.name === "edge" ? "SIGQUIT" : "SIGTERM");
    }
    process.exit(code);
  };
  process.on("SIGINT", () => void stopAll(0));
  process.on("SIGTERM", () => void stopAll(0));
  const watch = (child: ManagedProcess) => {
    started.push(child);
    void child.exited.then((code) => {
      if (!stopping) {
        console.error(`${child.name} exited unexpectedly (code ${code}); see ${logs}`);
        void stopAll(1);
      }
    });
  };

  try {
    if (!process.env.DATABASE_URL) {
      const pg = embeddedPostgresSettings();
      console.log(`starting embedded Postgres on 127.0.0.1:${pg.port} (data in ${pg.directory})`);
      watch(await startEmbeddedPostgres(pg, join(logs, "postgres.log")));
    }

    console.log(`starting the control plane on ${controlPlaneAddress}`);
    const controlPlane = new ManagedProcess("control-plane", process.execPath, [join(repoRoot(), "dist", "control-plane", "src", "main.js")], {
      env: {
        ...process.env,
        DATA_DIR: data,
        DATABASE_URL: databaseUrl(),
        ADMIN_TOKEN: adminToken,
        SYNC_SECRET: syncSecret,
        ADMIN_HOST: adminHost,
        CONTROL_PLANE_HOST: controlPlaneHost,
        CONTROL_PLANE_PORT: controlPlanePort,
        EDGE_SYNC_URLS: env("EDGE_SYNC_URLS", `http://127.0.0.1:${syncPort}`),
      },
      logFile: join(logs, "control-plane.log"),
      echo: true,
    });
    watch(controlPlane);
    await waitUntil(() => answers(`http://${controlPlaneAddress}/healthz`), 60000, "the control plane");

    console.log(`starting the edge on ${edgeHost}:${edgePort} (sync listener 127.0.0.1:${syncPort})`);
    watch(
      await startEdge({
        prefix: join(data, "edge"),
        listen: `${edgeHost}:${edgePort}`,
        syncListen: `127.0.0.1:${syncPort}`,
        controlPlaneAddress,
        adminHost,
        syncSecret,
        routesDictSize: env("ROUTES_DICT_SIZE", "64m"),
        proxyConnectTimeout: env("PROXY_CONNECT_TIMEOUT", "5s"),
        proxyReadTimeout: env("PROXY_READ_TIMEOUT", "60s"),
        workerProcesses: process.env.EDGE_WORKERS ? Number(process.env.EDGE_WORKERS) : "auto",
      }),
    );
    const edgeUrl = `http://${edgeHost}:${edgePort}`;
    await waitUntil(() => answers(`${edgeUrl}/readyz`, { host: adminHost }), 60000, "the edge to load its table");
  } catch (error) {
    console.error(`start failed: ${error instanceof Error ? error.message : String(error)}`);
    await stopAll(1);
    return;
  }

  const edgeUrl = `http://${edgeHost}:${edgePort}`;
  console.log(`
set-backend is up.
  edge            ${edgeUrl}   (admin API on Host: ${adminHost})
  control plane   http://${controlPlaneAddress}
  sync listener   http://127.0.0.1:${syncPort}   (edge-internal)
  data and logs   ${data}
  admin token     ${adminToken}

Try:
  export TOKEN=${adminToken}
  curl -H 'Host: ${adminHost}' -H "Authorization: Bearer $TOKEN" ${edgeUrl}/entries.json -X POST -d '{ "host": "some.host.com", "backend": "localhost:3000" }'
  curl -H 'Host: ${adminHost}' -H "Authorization: Bearer $TOKEN" ${edgeUrl}/entries.json
  curl -H 'Host: some.host.com' ${edgeUrl}/
  curl -H 'Host: ${adminHost}' -H "Authorization: Bearer $TOKEN" ${edgeUrl}/entries/some.host.com.json -X DELETE

Ctrl-C stops everything.`);
}
