import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startEmbeddedPostgres } from "../../scripts/lib/postgres";
import { ManagedProcess, waitUntil } from "../../scripts/lib/process";
import { EchoBackend, startEchoBackend } from "../helpers/backend";
import { query } from "../helpers/database";
import { freePort } from "../../scripts/lib/ports";
import { Stack } from "../helpers/stack";

/** The table every edge should hold: the database's entries, sorted by host. */
async function databaseTable(stack: Stack): Promise<Array<{ host: string; backends: string[]; revision: number }>> {
  const rows = await query<{ host: string; backends: string[]; revision: string }>(
    stack.databaseUrl,
    `SELECT "host", "backends", "revision" FROM "entries" ORDER BY "host" COLLATE "C"`,
  );
  return rows.map((row) => ({ host: row.host, backends: row.backends, revision: Number(row.revision) }));
}

/** One line per entry, so tables compare whatever order their JSON keys come in. */
function lines(entries: Array<{ host: string; backends?: string[]; revision: number }>): string[] {
  return entries.map((entry) => `${entry.host} ${(entry.backends ?? []).join(",")} @${entry.revision}`);
}

async function expectEdgesEqualDatabase(stack: Stack, edges: number[], timeoutMs = 10000): Promise<void> {
  const expected = lines(await databaseTable(stack));
  for (const edge of edges) {
    // On a timeout, fall through to the comparison, which shows how the tables differ.
    await waitUntil(
      async () => JSON.stringify(lines((await stack.edgeTable(edge)).entries)) === JSON.stringify(expected),
      timeoutMs,
      `edge ${edge} to equal the database`,
    ).catch(() => undefined);
    expect({ edge, status: await stack.edgeStatus(edge), entries: lines((await stack.edgeTable(edge)).entries) }).toMatchObject({ edge, entries: expected });
  }
}

/** Visits hosts in a loop until stopped; collects every status that is not 200. */
function steadyTraffic(stack: Stack, hosts: string[]): { stop: () => Promise<{ count: number; failures: string[] }> } {
  let running = true;
  let count = 0;
  const failures: string[] = [];
  const loop = (async () => {
    for (let i = 0; running && i < 100000; i++) {
      const host = hosts[i % hosts.length] as string;
      const response = await stack.visit(host).catch((error: Error) => ({ status: -1, body: error.message }));
      count++;
      if (response.status !== 200) {
        failures.push(`${host}: ${response.status}`);
      }
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return { count, failures };
    },
  };
}

describe("sync guarantees under real faults", () => {
  let backend: EchoBackend;

  beforeAll(async () => {
    backend = await startEchoBackend();
  });

  afterAll(async () => {
    await backend?.close();
  });

  describe("two control-plane replicas, two edges, one of which gets no pushes", () => {
    let stack: Stack;

    beforeAll(async () => {
      stack = await Stack.start({ edges: 2, controlPlanes: 2, pushTo: [0] });
    });

    afterAll(async () => {
      await stack?.stop();
    });

    afterEach(() => {
      expect(stack.unexpectedLogLines()).toEqual([]);
    });

    it("a write's response comes after the pushed edge applied it (read-your-writes)", async () => {
      for (let i = 0; i < 20; i++) {
        const host = `ryw-${i}.test`;
        const response = await stack.adminDirect(i % 2, "POST", "/entries.json", { host, backend: `127.0.0.1:${backend.port}` });
        expect(response.status).toBe(201);
        expect(response.headers["x-set-backend-lagging-edges"]).toBeUndefined();
        expect((await stack.visit(host, "/", { edge: 0 })).status).toBe(200);
      }
    });

    it("an edge that never receives a push converges by pulling, within the pull interval", async () => {
      const started = Date.now();
      await stack.admin("POST", "/entries.json", { host: "pulled.test", backend: `127.0.0.1:${backend.port}` });
      await waitUntil(async () => (await stack.visit("pulled.test", "/", { edge: 1 })).status === 200, 5000, "edge 1 to pull the change");
      expect(Date.now() - started).toBeLessThan(5000);
      await expectEdgesEqualDatabase(stack, [0, 1]);
    });

    it("two replicas writing the same hosts concurrently, 200 times each, leave every edge equal to the database", async () => {
      const hosts = ["race-a.test", "race-b.test", "race-c.test", "race-d.test"];
      const writer = async (replica: number) => {
        for (let i = 0; i < 200; i++) {
          const host = hosts[i % hosts.length] as string;
          const response =
            i % 7 === 6
              ? await stack.adminDirect(replica, "DELETE", `/entries/${host}.json`)
              : await stack.adminDirect(replica, "POST", "/entries.json", { host, backends: [`127.0.0.${replica + 1}:${1000 + i}`] });
          expect([200, 201, 204, 404]).toContain(response.status);
        }
      };
      await Promise.all([writer(0), writer(1)]);
      await expectEdgesEqualDatabase(stack, [0, 1]);
      const revisions = await query<{ head: string }>(stack.databaseUrl, `SELECT max("revision") AS "head" FROM "entry_changes"`);
      await waitUntil(async () => (await stack.edgeStatus(1)).revision === Number(revisions[0]?.head), 5000, "edge 1 to reach the head revision");
    });

    it("an old change delivered after a newer one does not roll the entry back", async () => {
      const created = await stack.admin("POST", "/entries.json", { host: "order.test", backend: `127.0.0.1:${backend.port}` });
      const revision = JSON.parse(created.body).revision as number;
      const stale = await stack.sync(0, "POST", "/changes", { previous: revision - 2, changes: [{ host: "order.test", backends: ["127.0.0.1:1"], revision: revision - 1 }] });
      expect(stale.status).toBe(200);
      expect(JSON.parse(stale.body)).toMatchObject({ applied: 0, skipped: 1 });
      const duplicate = await stack.sync(0, "POST", "/changes", { previous: revision - 1, changes: [{ host: "order.test", revision }] });
      expect(JSON.parse(duplicate.body)).toMatchObject({ applied: 0, skipped: 1 });
      expect((await stack.visit("order.test")).status).toBe(200);
      await expectEdgesEqualDatabase(stack, [0, 1]);
    });

    it("kill -9 of a control plane during steady traffic fails no request for a known host", async () => {
      const hosts = ["ryw-0.test", "ryw-1.test", "pulled.test"];
      // A pull that is receiving when its control plane dies gets a reset; nginx logs that at error level.
      stack.expectLogLines(/recv\(\) failed \(104: Connection reset by peer\), context: ngx\.timer/);
      const traffic = steadyTraffic(stack, hosts);
      await new Promise((resolve) => setTimeout(resolve, 300));
      await stack.stopControlPlane("SIGKILL", 0);
      await stack.stopControlPlane("SIGKILL", 1);
      await new Promise((resolve) => setTimeout(resolve, 1500));
      const { count, failures } = await traffic.stop();
      expect(count).toBeGreaterThan(50);
      expect(failures).toEqual([]);
      await stack.startControlPlane(0);
      await stack.startControlPlane(1);
      await stack.waitReady();
    });

    it("a write an edge cannot confirm names that edge, stays committed, and reaches the edge once it is back", async () => {
      await stack.stopEdge(0);
      const response = await stack.admin("POST", "/entries.json", { host: "lagging.test", backend: `127.0.0.1:${backend.port}` }).catch(() => undefined);
      // Edge 0 also serves the admin host; write straight to a replica while it is down.
      expect(response).toBeUndefined();
      const direct = await stack.adminDirect(0, "POST", "/entries.json", { host: "lagging.test", backend: `127.0.0.1:${backend.port}` });
      expect(direct.status).toBe(201);
      expect(direct.headers["x-set-backend-lagging-edges"]).toBe(`${stack.syncUrl(0)} (connect ECONNREFUSED ${stack.syncUrl(0).replace("http://", "")})`);
      await stack.startEdge(0);
      await waitUntil(async () => (await stack.visit("lagging.test", "/", { edge: 0 })).status === 200, 10000, "edge 0 to catch up");
      await expectEdgesEqualDatabase(stack, [0, 1]);
    });

    it("edge status tells revision, entries, free space, source and time of the last sync", async () => {
      const status = await stack.edgeStatus(1);
      const entries = (await databaseTable(stack)).length;
      expect(status).toMatchObject({ loaded: true, source: "control-plane", entries, dict_full: false });
      expect(status.free_bytes).toBeGreaterThan(0);
      expect(status.capacity_bytes).toBeGreaterThan(status.free_bytes);
      expect(Date.now() / 1000 - (status.last_sync_at ?? 0)).toBeLessThan(10);
    });
  });

  describe("a large table", () => {
    let stack: Stack;
    const count = 100000;

    beforeAll(async () => {
      stack = await Stack.start({ edge: { routesDictSize: "64m" } });
      // The change log and the table as 100,000 API writes would leave them, written in one statement.
      await query(
        stack.databaseUrl,
        `WITH changes AS (
           INSERT INTO "entry_changes" ("host", "backends")
           SELECT 'site-' || n || '.large.test', ARRAY['127.0.0.1:${backend.port}'] FROM generate_series(1, ${count}) AS n
           RETURNING "revision", "host", "backends", "changed_at")
         INSERT INTO "entries" ("host", "backends", "revision", "created_at", "updated_at")
         SELECT "host", "backends", "revision", "changed_at", "changed_at" FROM changes`,
      );
    });

    afterAll(async () => {
      await stack?.stop();
    });

    afterEach(() => {
      expect(stack.unexpectedLogLines()).toEqual([]);
    });

    it("an edge catches up on 100,000 changes by pulling, then one that starts empty loads them all", async () => {
      await waitUntil(async () => (await stack.edgeStatus(0)).entries === count, 60000, "the edge to pull 100,000 changes");
      await stack.stopEdge(0);
      stack.clearEdgeState(0);
      await stack.startEdge(0);
      await stack.waitReady(60000);
      expect(await stack.edgeStatus(0)).toMatchObject({ loaded: true, entries: count, source: "control-plane" });
      expect((await stack.visit("site-1.large.test")).status).toBe(200);
      expect((await stack.visit(`site-${count}.large.test`)).status).toBe(200);
    }, 120000);

    it("while a full snapshot replaces the table, hosts present before and after never get a 404", async () => {
      const hosts = ["site-1.large.test", "site-50000.large.test", `site-${count}.large.test`];
      const loads = () => stack.errorLog().match(/\[sync\] loaded a snapshot of 100000 entries/g)?.length ?? 0;
      const loadsBefore = loads();
      const traffic = steadyTraffic(stack, hosts);
      await new Promise((resolve) => setTimeout(resolve, 200));
      const requested = await stack.sync(0, "POST", "/resync");
      expect(requested.status).toBe(202);
      await waitUntil(() => loads() === loadsBefore + 1, 60000, "the snapshot to load");
      const { count: requests, failures } = await traffic.stop();
      expect(requests).toBeGreaterThan(20);
      expect(failures).toEqual([]);
    }, 120000);

    it("a restarted edge serves every route from its disk while the control plane is down", async () => {
      await stack.stopControlPlane();
      await stack.stopEdge(0);
      await stack.startEdge(0);
      await waitUntil(async () => (await stack.edgeStatus(0)).loaded, 30000, "the saved table to load");
      expect(await stack.edgeStatus(0)).toMatchObject({ source: "disk", entries: count });
      expect((await stack.visit(`site-${count}.large.test`)).status).toBe(200);
      await stack.startControlPlane();
    }, 120000);
  });

  describe("a full dict", () => {
    let stack: Stack;

    beforeAll(async () => {
      // 256 KiB: nginx's smallest sensible dict, full after a few thousand entries.
      stack = await Stack.start({ edge: { routesDictSize: "256k" } });
    });

    afterAll(async () => {
      await stack?.stop();
    });

    it("is an error the write reports per edge, the edge logs at ERR, and its status shows; nothing is evicted", async () => {
      await query(
        stack.databaseUrl,
        `WITH changes AS (
           INSERT INTO "entry_changes" ("host", "backends")
           SELECT 'fill-' || n || '.full.test', ARRAY['127.0.0.1:${backend.port}'] FROM generate_series(1, 20000) AS n
           RETURNING "revision", "host", "backends", "changed_at")
         INSERT INTO "entries" ("host", "backends", "revision", "created_at", "updated_at")
         SELECT "host", "backends", "revision", "changed_at", "changed_at" FROM changes`,
      );
      stack.expectLogLines(/\[sync\] (pulled )?change refused: .*no memory/, /\[sync\] change refused: .*no memory/);
      await waitUntil(async () => (await stack.edgeStatus(0)).dict_full, 20000, "the edge to notice its dict is full");
      const write = await stack.admin("POST", "/entries.json", { host: "one-more.full.test", backend: `127.0.0.1:${backend.port}` });
      expect(write.status).toBe(201);
      expect(write.headers["x-set-backend-lagging-edges"]).toMatch(/^http:\/\/127\.0\.0\.1:\d+ \(.*no memory.*\)$/);
      const status = await stack.edgeStatus(0);
      expect(status).toMatchObject({ dict_full: true, last_error: expect.stringContaining("no memory") });
      expect(stack.errorLog()).toMatch(/\[error\].*\[sync\] (pulled )?change refused: .*no memory/);
      // What did fit is still routed: the dict's LRU evicted nothing.
      expect((await stack.visit("fill-1.full.test")).status).toBe(200);
      expect(stack.unexpectedLogLines()).toEqual([]);
    });
  });

  describe("Postgres stops", () => {
    let postgres: ManagedProcess;
    let directory: string;
    let stack: Stack;
    let settings: { directory: string; port: number; user: string; password: string; database: string };

    beforeAll(async () => {
      directory = mkdtempSync(join(tmpdir(), "set-backend-pg-stop-"));
      chmodSync(directory, 0o755);
      settings = { directory: join(directory, "data"), port: await freePort(), user: "postgres", password: "stop-test", database: "set_backend" };
      postgres = await startEmbeddedPostgres(settings, join(directory, "postgres.log"));
      stack = await Stack.start({ databaseUrl: `postgres://postgres:stop-test@127.0.0.1:${settings.port}/set_backend` });
    });

    afterAll(async () => {
      await stack?.stop();
      await postgres?.stop();
      rmSync(directory, { recursive: true, force: true });
    });

    afterEach(() => {
      expect(stack.unexpectedLogLines()).toEqual([]);
    });

    it("writes answer 503 with a JSON error, edges keep routing, and writes work again once it is back", async () => {
      expect((await stack.admin("POST", "/entries.json", { host: "before.pg.test", backend: `127.0.0.1:${backend.port}` })).status).toBe(201);
      await postgres.stop();

      const refused = await stack.admin("POST", "/entries.json", { host: "during.pg.test", backend: `127.0.0.1:${backend.port}` });
      expect(refused.status).toBe(503);
      expect(JSON.parse(refused.body)).toMatchObject({ error: "database_unavailable", message: expect.any(String) });
      expect((await stack.visit("before.pg.test")).status).toBe(200);
      expect((await stack.admin("GET", "/readyz", undefined, null)).status).toBe(503);

      postgres = await startEmbeddedPostgres(settings, join(directory, "postgres.log"));
      await waitUntil(
        async () => (await stack.admin("POST", "/entries.json", { host: "after.pg.test", backend: `127.0.0.1:${backend.port}` })).status === 201,
        15000,
        "writes to work again",
      );
      expect((await stack.visit("after.pg.test")).status).toBe(200);
      expect((await stack.visit("during.pg.test")).status).toBe(404);
    }, 60000);
  });

  describe("a control plane named by its IPv6 address", () => {
    let stack: Stack;

    beforeAll(async () => {
      // The control plane listens on every address; the edge names it [::1]
      // for its pulls and for the admin host's upstream. It gets no pushes.
      stack = await Stack.start({ controlPlaneHostName: "[::1]", controlPlaneEnv: { CONTROL_PLANE_HOST: "::" }, pushTo: [] });
    });

    afterAll(async () => {
      await stack?.stop();
    });

    afterEach(() => {
      expect(stack.unexpectedLogLines()).toEqual([]);
    });

    it("the edge pulls its table over IPv6 and proxies the admin API there", async () => {
      expect((await stack.admin("POST", "/entries.json", { host: "v6.pull.test", backend: `127.0.0.1:${backend.port}` })).status).toBe(201);
      await waitUntil(async () => (await stack.visit("v6.pull.test")).status === 200, 10000, "the edge to pull the entry over IPv6");
      expect(stack.errorLog(0)).toMatch(/\[sync\] loaded a snapshot of \d+ entries/);
    });
  });
});
