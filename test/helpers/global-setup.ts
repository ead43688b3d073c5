import { chmodSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startEmbeddedPostgres } from "../../scripts/lib/postgres";
import { freePort } from "../../scripts/lib/ports";

/** Starts the run's Postgres and tells the suites (jest workers inherit process.env) where it is. */
export default async function globalSetup(): Promise<void> {
  const directory = mkdtempSync(join(tmpdir(), "set-backend-pg-"));
  // The Postgres server runs as its own user when we are root; it must reach its folder.
  chmodSync(directory, 0o755);
  const port = await freePort();
  const password = "test-password";
  const server = await startEmbeddedPostgres(
    { directory: join(directory, "data"), port, user: "postgres", password, database: "postgres" },
    join(directory, "postgres.log"),
  );
  process.env.TEST_PG_URL = `postgres://postgres:${password}@127.0.0.1:${port}`;
  process.env.TEST_TMP = directory;
  (globalThis as { testPostgres?: unknown }).testPostgres = server;
}
