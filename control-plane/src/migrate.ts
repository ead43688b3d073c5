import { Logger } from "@nestjs/common";
import { DataSource } from "typeorm";

/**
 * Session-level advisory lock held while migrations run, so replicas that
 * start together run them once. (Arbitrary constant; "sbm" in ASCII.)
 */
const MIGRATION_LOCK_KEY = 0x73626d;

/** Runs pending migrations under the lock; each migration in its own transaction. */
export async function runMigrations(dataSource: DataSource, logger = new Logger("migrations")): Promise<void> {
  const runner = dataSource.createQueryRunner();
  await runner.connect();
  try {
    await runner.query("SELECT pg_advisory_lock($1)", [MIGRATION_LOCK_KEY]);
    const applied = await dataSource.runMigrations({ transaction: "each" });
    for (const migration of applied) {
      logger.log(`applied ${migration.name}`);
    }
  } finally {
    await runner.query("SELECT pg_advisory_unlock($1)", [MIGRATION_LOCK_KEY]).catch(() => undefined);
    await runner.release();
  }
}
