import { existsSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { EmbeddedPostgresSettings } from "../../control-plane/src/config/database";
import { ManagedProcess } from "./process";

/** Repository root, from dist/scripts/lib or scripts/lib alike. */
export function repoRoot(): string {
  let directory = __dirname;
  while (!existsSync(join(directory, "package.json"))) {
    directory = dirname(directory);
  }
  return directory;
}

/** Starts scripts/postgres.mjs and waits until the database accepts connections. */
export async function startEmbeddedPostgres(settings: EmbeddedPostgresSettings, logFile: string, echo = false): Promise<ManagedProcess> {
  mkdirSync(dirname(settings.directory), { recursive: true, mode: 0o755 });
  const server = new ManagedProcess("postgres", process.execPath, [join(repoRoot(), "scripts", "postgres.mjs"), JSON.stringify(settings)], {
    logFile,
    echo,
  });
  await server.waitForOutput(/"ready":true/, 120000);
  return server;
}
