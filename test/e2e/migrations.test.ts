import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { repoRoot } from "../../scripts/lib/postgres";
import { createTestDatabase, query } from "../helpers/database";

/** The npm migration scripts, through the TypeORM CLI and the one DataSource file. */
describe("migrations through the TypeORM CLI", () => {
  let databaseUrl: string;

  beforeEach(async () => {
    databaseUrl = await createTestDatabase();
  });

  /**
   * Runs an npm migration script's command as package.json writes it, minus
   * its leading build step: `npm test` has just built, and suites running in
   * parallel must not rebuild dist/ under each other.
   */
  function npmRun(script: string, ...args: string[]): { status: number | null; output: string } {
    const scripts = (JSON.parse(readFileSync(join(repoRoot(), "package.json"), "utf8")) as { scripts: Record<string, string> }).scripts;
    const command = (scripts[script] ?? "").replace(/^npm run build:node && /, "");
    expect(command).toMatch(/^typeorm migration:\w+ -d dist\/control-plane\/src\/data-source\.js$/);
    const run = spawnSync("npx", [...command.split(" "), ...args], {
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

  async function columns(table: string): Promise<string[]> {
    const rows = await query<{ column_name: string }>(
      databaseUrl,
      `SELECT column_name FROM information_schema.columns WHERE table_name = $1 ORDER BY column_name`,
      [table],
    );
    return rows.map((row) => row.column_name);
  }

  async function functions(): Promise<string[]> {
    const rows = await query<{ proname: string }>(
      databaseUrl,
      `SELECT p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'public' ORDER BY p.proname`,
    );
    return rows.map((row) => row.proname);
  }

  it("migration:run creates the schema, each migration:revert undoes one, and run again restores it, keeping the data", async () => {
    expect(npmRun("migration:run").status).toBe(0);
    await expect(tables()).resolves.toEqual(["entries", "entry_changes", "migrations"]);
    await expect(functions()).resolves.toEqual(["set_backend_write"]);
    await query(databaseUrl, `INSERT INTO "entries" VALUES ('a.test', 1, now(), now(), ARRAY['10.0.0.1:80', '10.0.0.2:80'])`);

    expect(npmRun("migration:revert").status).toBe(0);
    await expect(functions()).resolves.toEqual([]);

    expect(npmRun("migration:revert").status).toBe(0);
    await expect(columns("entry_changes")).resolves.toEqual(["backends", "changed_at", "host", "revision"]);

    expect(npmRun("migration:revert").status).toBe(0);
    await expect(columns("entries")).resolves.toEqual(["backend", "created_at", "host", "revision", "updated_at"]);
    await expect(query(databaseUrl, `SELECT "backend" FROM "entries"`)).resolves.toEqual([{ backend: "10.0.0.1:80" }]);

    expect(npmRun("migration:revert").status).toBe(0);
    await expect(tables()).resolves.toEqual(["migrations"]);

    expect(npmRun("migration:run").status).toBe(0);
    await expect(tables()).resolves.toEqual(["entries", "entry_changes", "migrations"]);
    await expect(columns("entries")).resolves.toEqual(["backends", "created_at", "host", "revision", "updated_at"]);
    await expect(columns("entry_changes")).resolves.toEqual(["actor", "backends", "changed_at", "host", "old_backends", "revision"]);
    await expect(functions()).resolves.toEqual(["set_backend_write"]);
  }, 120000);

  it("the entities and the migrations agree: migration:generate --check finds nothing to generate", () => {
    expect(npmRun("migration:run").status).toBe(0);
    const check = npmRun("migration:generate", "migrations/Unexpected", "--check");
    expect(check.output).toContain("No changes in database schema were found");
    expect(check.status).toBe(0);
  }, 120000);
});
