import { crc32 } from "node:zlib";
import { INestApplication } from "@nestjs/common";
import { Test } from "@nestjs/testing";
import { getDataSourceToken } from "@nestjs/typeorm";
import { Client } from "pg";
import { DataSource } from "typeorm";
import { createTestDatabase, query } from "../../../test/helpers/database";
import { freePort } from "../../../scripts/lib/ports";
import { RecordedPush, startRecordingEdge } from "../../../test/helpers/recording-edge";
import { AppModule } from "../app.module";
import { EntriesService, UpsertResult } from "./entries.service";
import { runMigrations } from "../migrate";
import { BACKEND_SEPARATOR, MAX_REVISION, Snapshot, SnapshotColumns } from "../../../lua/src/set_backend/contract";

/** EntriesService inside the real Nest module graph, on a real Postgres. */
describe("EntriesService", () => {
  let app: INestApplication;
  let service: EntriesService;
  let databaseUrl: string;
  let edge: { url: string; pushes: RecordedPush[]; close: () => Promise<void> };
  let deadEdgeUrl: string;

  beforeAll(async () => {
    databaseUrl = await createTestDatabase();
    edge = await startRecordingEdge();
    deadEdgeUrl = `http://127.0.0.1:${await freePort()}`;
    Object.assign(process.env, {
      DATABASE_URL: databaseUrl,
      ADMIN_TOKEN: "spec-admin-token-0123456789",
      SYNC_SECRET: "spec-sync-secret-0123456789",
      EDGE_SYNC_URLS: `${edge.url},${deadEdgeUrl}`,
      EDGE_CONFIRM_TIMEOUT_MS: "300",
      WRITE_TIMEOUT_MS: "2000",
      ADMIN_HOST: "l.io",
    });
    const moduleRef = await Test.createTestingModule({ imports: [AppModule] }).compile();
    app = moduleRef.createNestApplication();
    await app.init();
    await runMigrations(app.get<DataSource>(getDataSourceToken()));
    service = app.get(EntriesService);
  });

  afterAll(async () => {
    await app?.close();
    await edge?.close();
  });

  beforeEach(() => {
    edge.pushes.length = 0;
  });

  it("creates an entry with a revision from the change log and pushes it with the secret", async () => {
    const result = await service.upsert("Create.Example.com:8080", "localhost:3000", undefined, "spec");
    expect(result.created).toBe(true);
    expect(result.entry).toMatchObject({ host: "create.example.com", backends: ["localhost:3000"] });
    const [change] = await query<{ revision: string; backends: string[] }>(
      databaseUrl,
      `SELECT "revision", "backends" FROM "entry_changes" WHERE "host" = $1`,
      ["create.example.com"],
    );
    expect(Number(change?.revision)).toBe(result.entry.revision);
    expect(edge.pushes).toEqual([
      {
        secret: "spec-sync-secret-0123456789",
        body: { previous: expect.any(Number), changes: [{ host: "create.example.com", backends: ["localhost:3000"], revision: result.entry.revision }] },
      },
    ]);
  });

  it("updates in place: a new revision, the same created time", async () => {
    const first = await service.upsert("update.example.com", "10.0.0.1:80", undefined, "spec");
    const second = await service.upsert("update.example.com", "10.0.0.2:80", undefined, "spec");
    expect(second.created).toBe(false);
    expect(second.entry.revision).toBeGreaterThan(first.entry.revision);
    expect(second.entry.createdAt.toISOString()).toBe(first.entry.createdAt.toISOString());
    await expect(service.findOne("update.example.com")).resolves.toMatchObject({ backends: ["10.0.0.2:80"] });
  });

  it("stores several backends in order, and refuses duplicates, an empty list, or both forms at once", async () => {
    const result = await service.upsert("several.example.com", undefined, ["10.0.0.1:80", "Files.Example:81"], "spec");
    expect(result.entry.backends).toEqual(["10.0.0.1:80", "files.example:81"]);
    expect(edge.pushes.at(-1)?.body.changes).toEqual([{ host: "several.example.com", backends: ["10.0.0.1:80", "files.example:81"], revision: result.entry.revision }]);
    const before = await service.currentRevision();
    await expect(service.upsert("several.example.com", undefined, ["10.0.0.1:80", "10.0.0.1:80"], "spec")).rejects.toMatchObject({ status: 400 });
    await expect(service.upsert("several.example.com", undefined, [], "spec")).rejects.toMatchObject({ status: 400 });
    await expect(service.upsert("several.example.com", "10.0.0.1:80", ["10.0.0.2:80"], "spec")).rejects.toMatchObject({ status: 400 });
    await expect(service.upsert("several.example.com", undefined, undefined, "spec")).rejects.toMatchObject({ status: 400 });
    await expect(service.currentRevision()).resolves.toBe(before);
  });

  it("stores a wildcard host", async () => {
    const result = await service.upsert("*.Wild.Example.com", "10.0.0.1:80", undefined, "spec");
    expect(result.entry.host).toBe("*.wild.example.com");
  });

  it("names the edges that did not confirm, and still commits", async () => {
    const result = await service.upsert("lag.example.com", "10.0.0.1:80", undefined, "spec");
    expect(result.edges).toEqual([
      { edge: edge.url, confirmed: true, revision: result.entry.revision },
      { edge: deadEdgeUrl, confirmed: false, error: expect.any(String) },
    ]);
    await expect(service.findOne("lag.example.com")).resolves.toBeDefined();
  });

  it("deletes with a tombstone in the change log and pushes a change without a backend", async () => {
    await service.upsert("delete.example.com", "10.0.0.1:80", undefined, "spec");
    edge.pushes.length = 0;
    await service.remove("delete.example.com", "spec");
    const changes = await query<{ backends: string[] | null }>(
      databaseUrl,
      `SELECT "backends" FROM "entry_changes" WHERE "host" = $1 ORDER BY "revision"`,
      ["delete.example.com"],
    );
    expect(changes.map((change) => change.backends)).toEqual([["10.0.0.1:80"], null]);
    expect(edge.pushes[0]?.body.changes).toEqual([{ host: "delete.example.com", revision: expect.any(Number) }]);
    await expect(service.findOne("delete.example.com")).rejects.toMatchObject({ status: 404 });
  });

  it("answers 404 when deleting a host that has no entry, and records no change", async () => {
    const before = await service.currentRevision();
    await expect(service.remove("absent.example.com", "spec")).rejects.toMatchObject({ status: 404, response: { error: "not_found" } });
    await expect(service.currentRevision()).resolves.toBe(before);
  });

  it("commits writes that arrive together as batches: each answered with its own outcome, pushed in revision order", async () => {
    await service.upsert("batch-gone.example.com", "10.0.0.1:80", undefined, "spec");
    edge.pushes.length = 0;
    const before = await service.currentRevision();
    // Fired without waiting: the first batch takes the first write, the rest queue behind it.
    const writes = [
      ...Array.from({ length: 40 }, (_, i) => service.upsert(`batch${i}.example.com`, `10.0.1.${i}:80`, undefined, `actor${i % 3}`)),
      service.upsert("batch-twice.example.com", "10.0.2.1:80", undefined, "spec"),
      service.remove("batch-gone.example.com", "spec"),
      service.remove("batch-absent.example.com", "spec"),
      service.upsert("batch-twice.example.com", "10.0.2.2:80", undefined, "spec"),
    ];
    const settled = await Promise.allSettled(writes);
    const upserts = settled.slice(0, 40).map((outcome) => (outcome.status === "fulfilled" ? (outcome.value as UpsertResult) : undefined));
    expect(upserts.every((result) => result?.created === true)).toBe(true);
    // Revisions follow the order the writes were made in, with no gap.
    const revisions = upserts.map((result) => result?.entry.revision as number);
    expect(revisions).toEqual(revisions.map((_, i) => before + 1 + i));
    const [twiceFirst, gone, absent, twiceSecond] = settled.slice(40);
    expect(twiceFirst).toMatchObject({ status: "fulfilled", value: { created: true, entry: { revision: before + 41 } } });
    expect(gone).toMatchObject({ status: "fulfilled" });
    expect(absent).toMatchObject({ status: "rejected", reason: { status: 404 } });
    expect(twiceSecond).toMatchObject({ status: "fulfilled", value: { created: false, entry: { revision: before + 43, backends: ["10.0.2.2:80"] } } });
    await expect(service.currentRevision()).resolves.toBe(before + 43);
    // Fewer pushes than writes, each continuing where the previous one ended.
    expect(edge.pushes.length).toBeGreaterThan(1);
    expect(edge.pushes.length).toBeLessThan(43);
    let previous = before;
    for (const push of edge.pushes) {
      const body = push.body as { previous: number; changes: Array<{ revision: number }> };
      expect(body.previous).toBe(previous);
      previous = body.changes.at(-1)?.revision as number;
    }
    expect(previous).toBe(before + 43);
    expect(edge.pushes.flatMap((push) => (push.body as { changes: unknown[] }).changes)).toContainEqual({ host: "batch-gone.example.com", revision: before + 42 });
    // The log has each change with its own actor and the backends it replaced.
    const history = await query<{ host: string; actor: string; backends: string[] | null; old_backends: string[] | null }>(
      databaseUrl,
      `SELECT "host", "actor", "backends", "old_backends" FROM "entry_changes" WHERE "revision" > $1 ORDER BY "revision"`,
      [before],
    );
    expect(history).toHaveLength(43);
    expect(history[7]).toEqual({ host: "batch7.example.com", actor: "actor1", backends: ["10.0.1.7:80"], old_backends: null });
    expect(history.slice(40)).toEqual([
      { host: "batch-twice.example.com", actor: "spec", backends: ["10.0.2.1:80"], old_backends: null },
      { host: "batch-gone.example.com", actor: "spec", backends: null, old_backends: ["10.0.0.1:80"] },
      { host: "batch-twice.example.com", actor: "spec", backends: ["10.0.2.2:80"], old_backends: ["10.0.2.1:80"] },
    ]);
    await expect(service.findOne("batch-gone.example.com")).rejects.toMatchObject({ status: 404 });
  });

  it("answers 507 when the change log has used every revision an edge can store, and commits nothing of the batch", async () => {
    const sequence = "pg_get_serial_sequence('entry_changes', 'revision')";
    const before = await service.currentRevision();
    // The next two revisions fit; the third is one past the last an edge can store.
    await query(databaseUrl, `SELECT setval(${sequence}, $1)`, [MAX_REVISION - 2]);
    try {
      // The first write runs alone; the next two queue behind it and share a batch.
      const writes = ["exhausted1", "exhausted2", "exhausted3"].map((name) => service.upsert(`${name}.example.com`, "10.0.0.1:80", undefined, "spec"));
      const [first, second, third] = await Promise.allSettled(writes);
      expect(first).toMatchObject({ status: "fulfilled", value: { entry: { revision: MAX_REVISION - 1 } } });
      // The second would fit, but its batch holds the third, so neither is stored.
      for (const outcome of [second, third]) {
        expect(outcome).toMatchObject({ status: "rejected", reason: { status: 507, response: { error: "revisions_exhausted" } } });
      }
      await expect(service.currentRevision()).resolves.toBe(MAX_REVISION - 1);
      await expect(service.findOne("exhausted2.example.com")).rejects.toMatchObject({ status: 404 });
      await expect(service.findOne("exhausted3.example.com")).rejects.toMatchObject({ status: 404 });
    } finally {
      await query(databaseUrl, `DELETE FROM "entries" WHERE "revision" > $1`, [before]);
      await query(databaseUrl, `DELETE FROM "entry_changes" WHERE "revision" > $1`, [before]);
      await query(databaseUrl, `SELECT setval(${sequence}, $1)`, [before + 1000]);
    }
  });

  it("answers 503 when the database does not answer a batch within WRITE_TIMEOUT_MS, and later writes go on", async () => {
    // Another session holds the write lock, so the batch's call waits on it.
    const blocker = new Client({ connectionString: databaseUrl });
    await blocker.connect();
    await blocker.query("BEGIN");
    await blocker.query("SELECT pg_advisory_xact_lock($1)", [0x7362]);
    try {
      await expect(service.upsert("stuck.example.com", "10.0.0.1:80", undefined, "spec")).rejects.toMatchObject({
        status: 503,
        response: { error: "database_unavailable", message: expect.stringContaining("did not answer within 2000 ms") },
      });
    } finally {
      await blocker.query("COMMIT");
      await blocker.end();
    }
    // The call that timed out still commits once the lock is free; the queue did not wait for it.
    const after = await service.upsert("after-stuck.example.com", "10.0.0.2:80", undefined, "spec");
    expect(after.created).toBe(true);
    await expect(service.findOne("stuck.example.com")).resolves.toMatchObject({ backends: ["10.0.0.1:80"] });
  });

  it.each([
    ["an invalid host", "bad_host.com", "10.0.0.1:80", 400],
    ["a backend without a port", "ok.example.com", "localhost", 400],
    ["the admin host", "L.IO", "10.0.0.1:80", 422],
  ])("refuses %s and stores nothing", async (_name, host, backend, status) => {
    const before = await service.currentRevision();
    await expect(service.upsert(host, backend, undefined, "spec")).rejects.toMatchObject({ status });
    await expect(service.currentRevision()).resolves.toBe(before);
    expect(edge.pushes).toEqual([]);
  });

  it("serves the column form with the same entries as the entries form, backends joined as the edge stores them", async () => {
    await service.upsert("two-backends.example.com", undefined, ["10.0.0.1:80", "[::1]:81"], "spec");
    const entries = JSON.parse(await service.snapshotJson("entries")) as Snapshot;
    const columns = JSON.parse(await service.snapshotJson("columns")) as SnapshotColumns;
    expect(Object.keys(columns)).toEqual(["revision", "hosts", "backends", "revisions"]);
    expect(columns.revision).toBe(entries.revision);
    expect(columns.hosts.length).toBe(entries.entries.length);
    const fromColumns = columns.hosts.map((host, i) => ({ host, backends: (columns.backends[i] as string).split(BACKEND_SEPARATOR), revision: columns.revisions[i] }));
    const byHost = (a: { host: string }, b: { host: string }) => a.host.localeCompare(b.host);
    expect(fromColumns.sort(byHost)).toEqual([...entries.entries].sort(byHost));
    expect(fromColumns.find((entry) => entry.host === "two-backends.example.com")?.backends).toEqual(["10.0.0.1:80", "[::1]:81"]);
    // On Postgres 18 and later, in the order of the edge dict's hash: CRC-32 of the host, as zlib computes it too.
    const [version] = await query<{ server_version_num: string }>(databaseUrl, "SHOW server_version_num");
    const hashes = columns.hosts.map((host) => crc32(host));
    const inHashOrder = hashes.every((hash, i) => i === 0 || (hashes[i - 1] as number) <= hash);
    // Before 18 the order is the table's, and a short table may happen to be sorted: nothing to check.
    if (Number(version?.server_version_num) >= 180000) {
      expect(inHashOrder).toBe(true);
    }
  });

  it("builds one snapshot for everyone who asks while it is built, and a new one afterwards", async () => {
    const first = service.snapshotJson();
    expect(service.snapshotJson()).toBe(first);
    const before = JSON.parse(await first) as Snapshot;
    await service.upsert("after-snapshot.example.com", "10.0.0.7:80", undefined, "spec");
    const after = JSON.parse(await service.snapshotJson()) as Snapshot;
    expect(after.revision).toBeGreaterThan(before.revision);
    expect(after.entries.map((entry) => entry.host)).toContain("after-snapshot.example.com");
    expect(before.entries.map((entry) => entry.host)).not.toContain("after-snapshot.example.com");
  });

  it("serves a snapshot whose revision is the change log's and whose entries are the table, field for field", async () => {
    const snapshot = JSON.parse(await service.snapshotJson()) as Snapshot;
    const rows = await query<{ host: string; backends: string[]; revision: string }>(databaseUrl, `SELECT "host", "backends", "revision" FROM "entries"`);
    expect(rows.length).toBeGreaterThan(0);
    expect(Object.keys(snapshot)).toEqual(["revision", "entries"]);
    expect(snapshot.revision).toBe(await service.currentRevision());
    const byHost = (a: { host: string }, b: { host: string }) => a.host.localeCompare(b.host);
    expect([...snapshot.entries].sort(byHost)).toEqual(rows.map((row) => ({ host: row.host, backends: row.backends, revision: Number(row.revision) })).sort(byHost));
    for (const entry of snapshot.entries) {
      expect(Object.keys(entry)).toEqual(["host", "backends", "revision"]);
      expect(entry.revision).toBeLessThanOrEqual(snapshot.revision);
    }
  });
});
