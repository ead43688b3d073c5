import { registerAs } from "@nestjs/config";
import { normalizeHost } from "../../../lua/src/set_backend/host";
import { dataDir, loadOrCreateSecret } from "./data-dir";
import { databaseUrl } from "./database";
import { loadTokens, MIN_TOKEN_LENGTH } from "../auth/tokens";

/**
 * Every setting of the control plane, read from the environment and checked
 * at boot: a misconfigured process refuses to start and says why.
 */
export class SettingsError extends Error {}

function port(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === "") {
    return fallback;
  }
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1 || value > 65535) {
    throw new SettingsError(`${name} must be a port number from 1 to 65535, got '${raw}'`);
  }
  return value;
}

function positiveInteger(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === "") {
    return fallback;
  }
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1) {
    throw new SettingsError(`${name} must be a positive whole number, got '${raw}'`);
  }
  return value;
}

function urlList(env: NodeJS.ProcessEnv, name: string, fallback: string): string[] {
  const raw = env[name] ?? fallback;
  const urls = raw.split(",").map((item) => item.trim()).filter((item) => item !== "");
  for (const url of urls) {
    if (!/^http:\/\/[^/\s]+(\/[^\s]*)?$/.test(url)) {
      throw new SettingsError(`${name} must be comma-separated http:// URLs, got '${url}'`);
    }
  }
  return urls.map((url) => url.replace(/\/$/, ""));
}

export const serverSettings = registerAs("server", () => {
  const env = process.env;
  const adminHost = normalizeHost(env.ADMIN_HOST ?? "l.io", false);
  if (adminHost.host === undefined) {
    throw new SettingsError(`ADMIN_HOST is not a valid host name: ${adminHost.error}`);
  }
  return {
    host: env.CONTROL_PLANE_HOST || "127.0.0.1",
    port: port(env, "CONTROL_PLANE_PORT", 8081),
    adminHost: adminHost.host,
    /** Largest admin request body, in bytes (1 MiB). */
    bodyLimitBytes: positiveInteger(env, "ADMIN_BODY_LIMIT_BYTES", 1024 * 1024),
    /** Largest bulk import, in bytes: 64 MiB holds about a million NDJSON lines of typical entries. */
    importLimitBytes: positiveInteger(env, "IMPORT_LIMIT_BYTES", 64 * 1024 * 1024),
  };
});

export const databaseSettings = registerAs("database", () => ({
  url: databaseUrl(process.env),
  /** Longest a batch of single-entry writes waits for the database before its writes answer 503. */
  writeTimeoutMs: positiveInteger(process.env, "WRITE_TIMEOUT_MS", 30000),
}));

export const authSettings = registerAs("auth", () => {
  const env = process.env;
  const token = env.ADMIN_TOKEN && env.ADMIN_TOKEN !== "" ? env.ADMIN_TOKEN : loadOrCreateSecret(dataDir(env), "admin-token");
  if (token.length < MIN_TOKEN_LENGTH) {
    throw new SettingsError(`ADMIN_TOKEN must be at least ${MIN_TOKEN_LENGTH} characters`);
  }
  try {
    return { adminToken: token, tokens: loadTokens(token, env) };
  } catch (error) {
    throw new SettingsError(error instanceof Error ? error.message : String(error));
  }
});

export const edgeSettings = registerAs("edges", () => {
  const env = process.env;
  const secret = env.SYNC_SECRET && env.SYNC_SECRET !== "" ? env.SYNC_SECRET : loadOrCreateSecret(dataDir(env), "sync-secret");
  if (secret.length < 16) {
    throw new SettingsError("SYNC_SECRET must be at least 16 characters");
  }
  return {
    /** Sync listeners of the edges this control plane pushes to. */
    syncUrls: urlList(env, "EDGE_SYNC_URLS", "http://127.0.0.1:8082"),
    syncSecret: secret,
    /** How long a write waits for the edges to confirm before answering anyway. */
    confirmTimeoutMs: positiveInteger(env, "EDGE_CONFIRM_TIMEOUT_MS", 1000),
  };
});

export type ServerSettings = ReturnType<typeof serverSettings>;
export type DatabaseSettings = ReturnType<typeof databaseSettings>;
export type AuthSettings = ReturnType<typeof authSettings>;
export type EdgeSettings = ReturnType<typeof edgeSettings>;
