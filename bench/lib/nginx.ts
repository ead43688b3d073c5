import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { prepareStateDir, renderNginxConf } from "../../scripts/lib/edge";
import { repoRoot } from "../../scripts/lib/postgres";
import { ManagedProcess, waitUntil } from "../../scripts/lib/process";
import { childPids } from "./machine";

/** The same modules renderNginxConf loads on Debian, so every variant runs the same nginx binary with the same modules. */
const DEBIAN_MODULES = ["/usr/lib/nginx/modules/ndk_http_module.so", "/usr/lib/nginx/modules/ngx_http_lua_module.so"];

/** As in openresty/nginx.conf.template, so connection limits are alike. */
const WORKER_CONNECTIONS = 4096;
/** As UPSTREAM_KEEPALIVE's default in scripts/lib/edge.ts. */
const UPSTREAM_KEEPALIVE = 256;

/**
 * The request headers openresty/set_backend.conf sends to a backend. The
 * plain-nginx variants send the same ones, so the comparison measures
 * routing, not header work.
 */
const PROXY_HEADERS = `
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_set_header X-Forwarded-Host $host;
            proxy_set_header X-Request-Id $request_id;`;

export const BACKEND_UPSTREAM = "bench_backend";

/** A running nginx: master process, its single worker, where it listens. */
export interface RunningNginx {
  name: string;
  process: ManagedProcess;
  port: number;
  workerPid: number;
  prefix: string;
}

function head(prefix: string, withModules: boolean): string {
  const modules = withModules && DEBIAN_MODULES.every((path) => existsSync(path)) ? DEBIAN_MODULES.map((path) => `load_module ${path};`).join("\n") : "";
  return `${modules}
worker_processes 1;
daemon off;
pid ${prefix}/logs/nginx.pid;
error_log ${prefix}/logs/error.log warn;
events { worker_connections ${WORKER_CONNECTIONS}; }
`;
}

function tempPaths(prefix: string): string {
  return ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"].map((name) => `    ${name}_temp_path ${prefix}/tmp/${name};`).join("\n");
}

/** The origin every variant proxies to: answers 200 with a 3-byte body, keeps connections open. */
export function backendConf(prefix: string, port: number): string {
  return `${head(prefix, false)}
http {
${tempPaths(prefix)}
    access_log off;
    server_tokens off;
    server {
        listen 127.0.0.1:${port};
        location / { return 200 "ok\\n"; }
    }
}
`;
}

/** The static upstream of (a), (c) and the bare dict read: the backend, kept alive. */
function staticUpstream(backendPort: number): string {
  return `    upstream ${BACKEND_UPSTREAM} {
        server 127.0.0.1:${backendPort};
        keepalive ${UPSTREAM_KEEPALIVE};
    }`;
}

/** (a) a static upstream, or (c) the same with an empty access_by_lua block. */
export function staticConf(prefix: string, port: number, backendPort: number, emptyLua: boolean): string {
  return `${head(prefix, true)}
http {
${tempPaths(prefix)}
    access_log off;
    server_tokens off;
${staticUpstream(backendPort)}
    server {
        listen 127.0.0.1:${port} default_server;
        location / {
            ${emptyLua ? "access_by_lua_block { }" : ""}
            proxy_pass http://${BACKEND_UPSTREAM};${PROXY_HEADERS}
        }
    }
}
`;
}

/**
 * (g) the floor of a Lua router that picks its peer per request from a
 * table changed at run time and keeps connections to it: (c)'s empty
 * access_by_lua, and an upstream whose balancer_by_lua sets one fixed peer
 * (the backend) with keepalive. Nothing is looked up; what (g) costs over
 * (c) is what nginx charges for running a balancer_by_lua at all.
 */
export function balancerFloorConf(prefix: string, port: number, backendPort: number): string {
  return `${head(prefix, true)}
http {
${tempPaths(prefix)}
    access_log off;
    server_tokens off;
    upstream bench_lua_balancer {
        server 0.0.0.1;
        balancer_by_lua_block { require("ngx.balancer").set_current_peer("127.0.0.1", ${backendPort}) }
        keepalive ${UPSTREAM_KEEPALIVE};
    }
    server {
        listen 127.0.0.1:${port} default_server;
        location / {
            access_by_lua_block { }
            proxy_pass http://bench_lua_balancer;${PROXY_HEADERS}
        }
    }
}
`;
}

/**
 * A server added to a bench edge: the bare dict read any lookup in a
 * lua_shared_dict pays, `ngx.var.host` and one `get` on the routes dict,
 * 404 on a miss, then the static upstream. Measured on the 10- and the
 * 1,000,000-entry edges, it shows what the dict itself costs as it grows.
 */
export function bareDictReadServer(port: number, backendPort: number): string {
  return `${staticUpstream(backendPort)}
    server {
        listen 127.0.0.1:${port};
        location / {
            access_by_lua_block {
                if ngx.shared.set_backend_routes:get(ngx.var.host) == nil then return ngx.exit(404) end
            }
            proxy_pass http://${BACKEND_UPSTREAM};${PROXY_HEADERS}
        }
    }
`;
}

/**
 * (b) routing by a static `map $host`: every host of the table maps to the
 * upstream's name, unknown hosts get 404, and proxy_pass names the upstream
 * through a variable as set_backend.conf does with $backend.
 */
export function mapConf(prefix: string, port: number, backendPort: number, hosts: string[]): string {
  // nginx sizes the map's hash from these; with less than about 4 slots per host and 128-byte
  // buckets it warns that it "could not build optimal map_hash" for 100,000 25-character hosts.
  const hashMaxSize = Math.max(2048, 2 ** Math.ceil(Math.log2(hosts.length * 4)));
  const lines = hosts.map((host) => `        ${host} ${BACKEND_UPSTREAM};`).join("\n");
  return `${head(prefix, true)}
http {
${tempPaths(prefix)}
    access_log off;
    server_tokens off;
    map_hash_max_size ${hashMaxSize};
    map_hash_bucket_size 128;
    map $host $bench_route {
        default "";
${lines}
    }
${staticUpstream(backendPort)}
    server {
        listen 127.0.0.1:${port} default_server;
        if ($bench_route = "") { return 404; }
        location / {
            proxy_pass http://$bench_route$request_uri;${PROXY_HEADERS}
        }
    }
}
`;
}

/** The http-level include that nginx.conf.template expects in the prefix's conf/ (rendered as startEdge does). */
export const HTTP_INCLUDE_TEMPLATE = "set_backend_http.conf.template";

/**
 * The set-backend edge as renderNginxConf writes it, with one change: its
 * access_log is turned off, as in every other variant (the template logs
 * each request to a file, which no baseline does). Also writes the http
 * include into prefix/conf, as startEdge does.
 */
export function setBackendConf(options: Parameters<typeof renderNginxConf>[0], extraServers = ""): string {
  makePrefix(options.prefix);
  if (existsSync(join(repoRoot(), "openresty", HTTP_INCLUDE_TEMPLATE))) {
    writeFileSync(join(options.prefix, "conf", "set_backend_http.conf"), renderNginxConf(options, HTTP_INCLUDE_TEMPLATE));
  }
  const rendered = renderNginxConf(options);
  const accessLog = /^\s*access_log\s+\S+\s+set_backend;\s*$/gm;
  const matches = rendered.match(accessLog) ?? [];
  if (matches.length !== 1) {
    throw new Error(`expected one set_backend access_log line in the rendered template, found ${matches.length}`);
  }
  const withoutLog = rendered.replace(accessLog, "    access_log off;  # bench: as in the baselines");
  if (extraServers === "") {
    return withoutLog;
  }
  // The http block is the template's last block: its closing brace ends the file.
  const end = withoutLog.lastIndexOf("}");
  return `${withoutLog.slice(0, end)}\n    # bench: measurement servers, never hit by the set-backend variants\n${extraServers}}\n`;
}

function makePrefix(prefix: string): void {
  for (const folder of ["conf", "logs", "tmp"]) {
    mkdirSync(join(prefix, folder), { recursive: true, mode: 0o755 });
  }
}

/**
 * Starts nginx on conf, pinned to one CPU with taskset (which execs nginx,
 * so the pid is nginx's master). Waits until it accepts on port and has
 * its one worker.
 */
export async function startNginx(
  name: string,
  prefix: string,
  conf: string,
  port: number,
  cpu: number,
  env: NodeJS.ProcessEnv = process.env,
): Promise<RunningNginx> {
  makePrefix(prefix);
  const confFile = join(prefix, "conf", "nginx.conf");
  writeFileSync(confFile, conf);
  const errorLog = join(prefix, "logs", "error.log");
  const process_ = new ManagedProcess(name, "taskset", ["-c", String(cpu), "nginx", "-p", prefix, "-c", confFile, "-e", errorLog], {
    env,
    logFile: join(prefix, "logs", "nginx.out"),
  });
  try {
    const pid = process_.child.pid;
    if (pid === undefined) {
      throw new Error(`${name}: nginx did not start`);
    }
    // A large map takes nginx a few seconds to hash; a bad config exits at once.
    const exited = process_.exited.then(() => {
      const detail = existsSync(errorLog) ? readFileSync(errorLog, "utf8").slice(-2000) : "";
      throw new Error(`${name}: nginx exited: ${process_.recentOutput}${detail}`);
    });
    const worker = waitUntil(
      () => {
        const workers = childPids(pid);
        return workers.length === 1 && process_.running ? workers[0] : undefined;
      },
      60000,
      `${name}'s nginx worker`,
      50,
    );
    exited.catch(() => undefined);
    const workerPid = await Promise.race([worker, exited]);
    return { name, process: process_, port, workerPid, prefix };
  } catch (error) {
    await process_.stop("SIGKILL");
    throw error;
  }
}

/**
 * What the edge's Lua reads from the environment, with startEdge's defaults
 * (scripts/lib/edge.ts); startEdge itself cannot pin a CPU or turn the
 * access log off, hence this copy of its environment.
 */
export function edgeEnv(prefix: string, controlPlaneAddress: string, syncSecret: string): NodeJS.ProcessEnv {
  return {
    ...process.env,
    SET_BACKEND_CONTROL_PLANE_URL: `http://${controlPlaneAddress}`,
    SET_BACKEND_SYNC_SECRET: syncSecret,
    SET_BACKEND_PAGES_DIR: join(repoRoot(), "openresty", "pages"),
    SET_BACKEND_RESOLVERS: "",
    SET_BACKEND_MAX_FAILS: "1",
    SET_BACKEND_FAIL_TIMEOUT_S: "10",
    SET_BACKEND_STATE_DIR: prepareStateDir(prefix),
    SET_BACKEND_SYNC_INTERVAL_S: "2",
  };
}
