import { randomBytes } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";

/** Where set-backend keeps its state when nothing else is configured. */
export function dataDir(env: NodeJS.ProcessEnv = process.env): string {
  return resolve(env.DATA_DIR && env.DATA_DIR !== "" ? env.DATA_DIR : ".data");
}

/**
 * Returns the secret stored in <dataDir>/<name>, creating it (32 random
 * bytes, hex, mode 0600) the first time. The same value survives restarts,
 * so a second start finds the token the first one printed.
 */
export function loadOrCreateSecret(directory: string, name: string): string {
  const path = join(directory, name);
  if (existsSync(path)) {
    const value = readFileSync(path, "utf8").trim();
    if (value !== "") {
      return value;
    }
  }
  // 0755: the embedded Postgres runs as its own user and must traverse this folder;
  // the secrets themselves are 0600.
  mkdirSync(directory, { recursive: true, mode: 0o755 });
  const value = randomBytes(32).toString("hex");
  writeFileSync(path, value + "\n", { mode: 0o600 });
  chmodSync(path, 0o600);
  return value;
}
