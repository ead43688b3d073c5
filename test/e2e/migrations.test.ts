import { spawnSync } from "node:child_process";
import { repoRoot } from "../../scripts/lib/postgres";
import { createTestDatabase, query } from "../helpers/database";

/** The npm migration scripts, through the TypeORM CLI and the one DataSource file. */
describe("migrations through the TypeORM CLI", () => {
  let databaseUrl: string;

  beforeAll(async () => {
    databaseUrl = await createTestDatabase();
  });

  function npmRun(script: string, ...args: string[]): { status: number | null; output: string } {
    const run = spawnSync("npm", ["run", "--silent", script, "--", ...args], {
      cwd: repoRoot(),
      env: { ...process.env, DATABASE_URL: databaseUrl },
      encoding: "utf8",
    });
    return { status: run.status, output: `${run.stdout}${run.stderr}` };
  }

  async function tables(): Promise<string[]> {
    const rows = await query<{ tablename: string }>(databaseUrl, `SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename`);
    return rows.map((row) => row.tablename);
  }

  it("migration:run creates the schema, migration:revert removes it, and run again restores it", async () => {
    expect(npmRun("migration:run").status).toBe(0);
    await expect(tables()).resolves.toEqual(["entries", "entry_changes", "migrations"]);
    expect(npmRun("migration:revert").status).toBe(0);
    await expect(tables()).resolves.toEqual(["migrations"]);
    expect(npmRun("migration:run").status).toBe(0);
    await expect(tables()).resolves.toEqual(["entries", "entry_changes", "migrations"]);
  }, 120000);

  it("the entities and the migrations agree: migration:generate --check finds nothing to generate", () => {
    const check = npmRun("migration:generate", "migrations/Unexpected", "--check");
    expect(check.output).toContain("No changes in database schema were found");
    expect(check.status).toBe(0);
  }, 120000);
});
