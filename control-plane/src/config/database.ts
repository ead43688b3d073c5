import { dataDir, loadOrCreateSecret } from "./data-dir";

/** Port of the embedded Postgres; away from 5432 so a system server can coexist. */
export const EMBEDDED_PG_PORT_DEFAULT = 54329;
export const EMBEDDED_PG_USER = "postgres";
export const EMBEDDED_PG_DATABASE = "set_backend";

export interface EmbeddedPostgresSettings {
  directory: string;
  port: number;
  user: string;
  password: string;
  database: string;
}

/** Where and how the embedded Postgres runs when DATABASE_URL is unset. */
export function embeddedPostgresSettings(env: NodeJS.ProcessEnv = process.env): EmbeddedPostgresSettings {
  const directory = dataDir(env);
  const port = env.PG_PORT ? Number(env.PG_PORT) : EMBEDDED_PG_PORT_DEFAULT;
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new Error(`PG_PORT must be a port number, got '${env.PG_PORT}'`);
  }
  return {
    directory: `${directory}/postgres`,
    port,
    user: EMBEDDED_PG_USER,
    password: loadOrCreateSecret(directory, "postgres-password"),
    database: EMBEDDED_PG_DATABASE,
  };
}

/** DATABASE_URL, or the URL of the embedded Postgres that `npm start` runs. */
export function databaseUrl(env: NodeJS.ProcessEnv = process.env): string {
  if (env.DATABASE_URL && env.DATABASE_URL !== "") {
    return env.DATABASE_URL;
  }
  const pg = embeddedPostgresSettings(env);
  return `postgres://${pg.user}:${encodeURIComponent(pg.password)}@127.0.0.1:${pg.port}/${pg.database}`;
}
