import { chmodSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { httpRequest } from "../../scripts/lib/http";
import { repoRoot } from "../../scripts/lib/postgres";
import { ManagedProcess } from "../../scripts/lib/process";
import { EchoBackend, startEchoBackend } from "../helpers/backend";
import { freePort } from "../../scripts/lib/ports";

/**
 * `npm start` itself (scripts/start.mjs): embedded Postgres, migrations,
 * control plane and edge on the ports it is given, a generated token, and a
 * second start that finds the first one's entries.
 */
describe("npm start", () => {
  let directory: string;
  let backend: EchoBackend;
  const ports: Record<string, string> = {};

  beforeAll(async () => {
    directory = mkdtempSync(join(tmpdir(), "set-backend-start-"));
    chmodSync(directory, 0o755);
    backend = await startEchoBackend();
    for (const name of ["EDGE_PORT", "EDGE_SYNC_PORT", "CONTROL_PLANE_PORT", "PG_PORT"]) {
      ports[name] = String(await freePort());
    }
  });

  afterAll(async () => {
    await backend?.close();
    rmSync(directory, { recursive: true, force: true });
  });

  function start(): ManagedProcess {
    const env: NodeJS.ProcessEnv = { ...process.env, ...ports, DATA_DIR: join(directory, "data"), EDGE_WORKERS: "1", NO_COLOR: "1" };
    for (const name of ["DATABASE_URL", "ADMIN_TOKEN", "SYNC_SECRET"]) {
      delete env[name];
    }
    return new ManagedProcess("npm-start", process.execPath, [join(repoRoot(), "scripts", "start.mjs")], {
      env,
      logFile: join(directory, "start.log"),
    });
  }

  async function stop(run: ManagedProcess): Promise<void> {
    run.child.kill("SIGINT");
    await expect(run.exited).resolves.toBe(0);
    // Everything it started is gone: nothing answers on its ports.
    await expect(httpRequest(`http://127.0.0.1:${ports.EDGE_PORT}/`, { timeoutMs: 1000 })).rejects.toThrow();
    await expect(httpRequest(`http://127.0.0.1:${ports.CONTROL_PLANE_PORT}/healthz`, { timeoutMs: 1000 })).rejects.toThrow();
  }

  it("starts everything, prints the token and curl commands, stops on Ctrl-C, and finds its entries on the next start", async () => {
    const first = start();
    try {
      const [, token] = await first.waitForOutput(/admin token\s+([0-9a-f]{64})/, 120000);
      expect(first.recentOutput).toContain(`curl -H 'Host: l.io' -H "Authorization: Bearer $TOKEN" http://127.0.0.1:${ports.EDGE_PORT}/entries.json -X POST`);
      expect(readFileSync(join(directory, "data", "admin-token"), "utf8").trim()).toBe(token);

      const created = await httpRequest(`http://127.0.0.1:${ports.EDGE_PORT}/entries.json`, {
        method: "POST",
        headers: { host: "l.io", authorization: `Bearer ${token}`, "content-type": "application/x-www-form-urlencoded" },
        body: `{ "host": "some.host.com", "backend": "localhost:${backend.port}" }`,
      });
      expect(created.status).toBe(201);
      const routed = await httpRequest(`http://127.0.0.1:${ports.EDGE_PORT}/x`, { headers: { host: "some.host.com" } });
      expect(routed.status).toBe(200);
    } finally {
      await stop(first);
    }

    const second = start();
    try {
      const [, token] = await second.waitForOutput(/admin token\s+([0-9a-f]{64})/, 120000);
      const index = await httpRequest(`http://127.0.0.1:${ports.EDGE_PORT}/entries.json`, { headers: { host: "l.io", authorization: `Bearer ${token}` } });
      expect(JSON.parse(index.body)).toEqual([expect.objectContaining({ host: "some.host.com" })]);
      const routed = await httpRequest(`http://127.0.0.1:${ports.EDGE_PORT}/x`, { headers: { host: "some.host.com" } });
      expect(routed.status).toBe(200);
    } finally {
      await stop(second);
    }
  }, 300000);
});
