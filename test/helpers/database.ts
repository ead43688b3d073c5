import { randomBytes } from "node:crypto";
import { Client } from "pg";

/** Creates an empty database in the run's Postgres and returns its URL. */
export async function createTestDatabase(): Promise<string> {
  const base = process.env.TEST_PG_URL;
  if (!base) {
    throw new Error("TEST_PG_URL is not set: run the tests through jest (test/helpers/global-setup.ts)");
  }
  const name = `test_${randomBytes(6).toString("hex")}`;
  const admin = new Client({ connectionString: `${base}/postgres` });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE "${name}"`);
  } finally {
    await admin.end();
  }
  return `${base}/${name}`;
}

/** Runs one query against url and returns the rows. */
export async function query<T = Record<string, unknown>>(url: string, sql: string, params: unknown[] = []): Promise<T[]> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(sql, params)).rows as T[];
  } finally {
    await client.end();
  }
}
