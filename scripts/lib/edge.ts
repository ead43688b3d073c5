import { chownSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ManagedProcess } from "./process";
import { repoRoot } from "./postgres";

/** Where Debian's libnginx-mod-http-lua puts the modules; OpenResty builds them in. */
const DEBIAN_MODULES = ["/usr/lib/nginx/modules/ndk_http_module.so", "/usr/lib/nginx/modules/ngx_http_lua_module.so"];

/** What goes into nginx.conf. */
export interface EdgeConfig {
  /** nginx prefix: conf/, logs/, tmp/ live here. */
  prefix: string;
  /** Public listener, host:port. */
  listen: string;
  /** Sync listener, host:port; keep it on loopback or a private address. */
  syncListen: string;
  /** Control plane, host:port: the admin host proxies there and the edge pulls from it. */
  controlPlaneAddress: string;
  adminHost: string;
  /** Size of the routes dict, nginx syntax (64m). */
  routesDictSize?: string;
  workerProcesses?: number | "auto";
  workerConnections?: number;
  errorLogLevel?: string;
  /** nginx time, as in 5s: connecting to a backend. */
  proxyConnectTimeout?: string;
  /** nginx time: between two reads from (or writes to) a backend. */
  proxyReadTimeout?: string;
  /** Idle connections kept per worker to backends. */
  upstreamKeepalive?: number;
}

/** What starting an edge needs besides its config: the environment nginx hands to Lua. */
export interface EdgeOptions extends EdgeConfig {
  syncSecret: string;
  /** Folder of error page templates; openresty/pages by default. */
  pagesDir?: string;
  /** nginx binary; `nginx` (Debian) or `openresty`. */
  nginxBinary?: string;
  /** DNS servers for backend names, "host[:port]" comma-separated; /etc/resolv.conf when unset. */
  resolvers?: string;
  /** Passive health: failures before a backend is skipped, and for how long (seconds). */
  maxFails?: number;
  failTimeoutSeconds?: number;
  /** Seconds between pulls of changes from the control plane. */
  syncIntervalSeconds?: number;
}

/**
 * uid and gid of `nobody`, the user nginx's workers run as when the master is
 * root and the config names no `user`; they write the edge's state folder.
 */
function workerUser(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) {
    return undefined;
  }
  const line = readFileSync("/etc/passwd", "utf8")
    .split("\n")
    .find((entry) => entry.startsWith("nobody:"));
  const fields = line?.split(":");
  return fields && fields.length > 3 ? { uid: Number(fields[2]), gid: Number(fields[3]) } : undefined;
}

/** The folder where the edge keeps its last good table, writable by its workers. */
export function prepareStateDir(prefix: string): string {
  const state = join(prefix, "state");
  mkdirSync(state, { recursive: true, mode: 0o755 });
  const user = workerUser();
  if (user !== undefined) {
    chownSync(state, user.uid, user.gid);
  }
  return state;
}

function loadModuleLines(): string {
  if (!DEBIAN_MODULES.every((path) => existsSync(path))) {
    return "# lua-nginx-module is built into this nginx (OpenResty).";
  }
  return DEBIAN_MODULES.map((path) => `load_module ${path};`).join("\n");
}

/** Fills openresty/nginx.conf.template; every ${NAME} must be known. */
export function renderNginxConf(options: EdgeConfig, templateName = "nginx.conf.template"): string {
  const root = repoRoot();
  const values: Record<string, string> = {
    LOAD_MODULES: loadModuleLines(),
    PREFIX: options.prefix,
    WORKER_PROCESSES: String(options.workerProcesses ?? "auto"),
    WORKER_CONNECTIONS: String(options.workerConnections ?? 4096),
    ERROR_LOG_LEVEL: options.errorLogLevel ?? "notice",
    LUA_PATH: join(root, "build", "lua"),
    ROUTES_DICT_SIZE: options.routesDictSize ?? "64m",
    CONTROL_PLANE_ADDRESS: options.controlPlaneAddress,
    EDGE_LISTEN: options.listen,
    SYNC_LISTEN: options.syncListen,
    ADMIN_HOST: options.adminHost,
    // As large as the control plane's IMPORT_LIMIT_BYTES default, so a bulk import fits.
    ADMIN_MAX_BODY: "64m",
    PROXY_CONNECT_TIMEOUT: options.proxyConnectTimeout ?? "5s",
    PROXY_READ_TIMEOUT: options.proxyReadTimeout ?? "60s",
    UPSTREAM_KEEPALIVE: String(options.upstreamKeepalive ?? 256),
    OPENRESTY_DIR: join(root, "openresty"),
  };
  const template = readFileSync(join(root, "openresty", templateName), "utf8");
  return template.replace(/\$\{([A-Z_]+)\}/g, (_, name: string) => {
    const value = values[name];
    if (value === undefined) {
      throw new Error(`${templateName} uses \${${name}}, which the renderer does not know`);
    }
    return value;
  });
}

/** Renders the config into the prefix and starts nginx in the foreground. */
export async function startEdge(options: EdgeOptions, echo = false): Promise<ManagedProcess> {
  for (const folder of ["conf", "logs", "tmp"]) {
    mkdirSync(join(options.prefix, folder), { recursive: true, mode: 0o755 });
  }
  const conf = join(options.prefix, "conf", "nginx.conf");
  writeFileSync(join(options.prefix, "conf", "set_backend_http.conf"), renderNginxConf(options, "set_backend_http.conf.template"));
  writeFileSync(conf, renderNginxConf(options));
  const env = {
    ...process.env,
    SET_BACKEND_CONTROL_PLANE_URL: `http://${options.controlPlaneAddress}`,
    SET_BACKEND_SYNC_SECRET: options.syncSecret,
    SET_BACKEND_PAGES_DIR: options.pagesDir ?? join(repoRoot(), "openresty", "pages"),
    SET_BACKEND_RESOLVERS: options.resolvers ?? process.env.SET_BACKEND_RESOLVERS ?? "",
    SET_BACKEND_MAX_FAILS: String(options.maxFails ?? process.env.SET_BACKEND_MAX_FAILS ?? 1),
    SET_BACKEND_FAIL_TIMEOUT_S: String(options.failTimeoutSeconds ?? process.env.SET_BACKEND_FAIL_TIMEOUT_S ?? 10),
    SET_BACKEND_STATE_DIR: prepareStateDir(options.prefix),
    SET_BACKEND_SYNC_INTERVAL_S: String(options.syncIntervalSeconds ?? process.env.SET_BACKEND_SYNC_INTERVAL_S ?? 2),
  };
  const edge = new ManagedProcess(
    "edge",
    options.nginxBinary ?? process.env.NGINX_BIN ?? "nginx",
    ["-p", options.prefix, "-c", conf, "-e", join(options.prefix, "logs", "error.log")],
    { env, logFile: join(options.prefix, "logs", "nginx.out"), echo },
  );
  // nginx prints nothing when it starts well; a bad config exits at once.
  const exitedEarly = await Promise.race([edge.exited.then(() => true), new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 300))]);
  if (exitedEarly) {
    const errorLog = join(options.prefix, "logs", "error.log");
    const detail = existsSync(errorLog) ? readFileSync(errorLog, "utf8").slice(-2000) : "";
    throw new Error(`nginx exited at start: ${edge.recentOutput}${detail}`);
  }
  return edge;
}
